"""Paired point + image datasets of PiMAE; importing registers them (and the
transforms) into mmdet3d's ``DATASETS`` / ``TRANSFORMS``. The object-crop
classification dataset and its ``CropObjectBox`` go into mmpretrain's.

The synthetic SUN RGB-D generator is the module
``projects.pimae.pimae.datasets.synthetic_sunrgbd``.
"""
from .bad_sample_error import BadSampleError, describe_sample
from .sunrgbd_object_crop_dataset import SUNRGBDObjectCropDataset
from .sunrgbd_pretrain_dataset import SUNRGBDPretrainDataset
from .transforms import (CheckDepth2Img, CropObjectBox, FurthestPointSample,
                         GlobalFlipRotScaleWithDepth2Img,
                         LoadCheckedPointsFromFile, LoggedPointSample,
                         RandomImageFlipWithDepth2Img, ResizeWithDepth2Img)

__all__ = [
    'BadSampleError', 'describe_sample', 'SUNRGBDPretrainDataset',
    'CheckDepth2Img', 'FurthestPointSample', 'GlobalFlipRotScaleWithDepth2Img',
    'LoadCheckedPointsFromFile', 'LoggedPointSample',
    'RandomImageFlipWithDepth2Img', 'ResizeWithDepth2Img',
    'SUNRGBDObjectCropDataset', 'CropObjectBox'
]
