"""Data preprocessors of PiMAE."""
from .pimae_data_preprocessor import PiMAEDataPreprocessor

__all__ = ['PiMAEDataPreprocessor']
