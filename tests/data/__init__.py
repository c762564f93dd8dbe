"""Test data of the PiMAE project.

``mmdet3d_samples/`` holds small real-format SUN RGB-D and ScanNet files
(see its README for their origin and licence).
"""
from pathlib import Path

#: Root of the vendored mmdet3d sample files.
MMDET3D_SAMPLES = Path(__file__).parent / 'mmdet3d_samples'
