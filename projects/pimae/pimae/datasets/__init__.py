"""Paired point + image datasets of PiMAE; importing registers them (and the
transforms) into mmdet3d's ``DATASETS`` / ``TRANSFORMS``. The object-crop
classification dataset and its ``CropObjectBox`` go into mmpretrain's.

The synthetic SUN RGB-D generator, a data tool that registers nothing, is
``projects.pimae.pimae.data_generation``.
"""
from .bad_sample_error import BadSampleError, describe_sample
from .info_file import InfoFileError, load_info_file
from .sunrgbd_object_crop_dataset import SUNRGBDObjectCropDataset
from .sunrgbd_point_crop_dataset import SUNRGBDPointCropDataset
from .sunrgbd_pretrain_dataset import SUNRGBDPretrainDataset
from .transforms import (CheckDepth2Img, CropObjectBox, FurthestPointSample,
                         GlobalFlipRotScaleWithDepth2Img,
                         LoadCheckedPointsFromFile, LoggedPointSample,
                         RandomImageFlipWithDepth2Img, ResizeWithDepth2Img)

__all__ = [
    'BadSampleError', 'describe_sample', 'InfoFileError', 'load_info_file',
    'SUNRGBDPretrainDataset',
    'CheckDepth2Img', 'FurthestPointSample', 'GlobalFlipRotScaleWithDepth2Img',
    'LoadCheckedPointsFromFile', 'LoggedPointSample',
    'RandomImageFlipWithDepth2Img', 'ResizeWithDepth2Img',
    'SUNRGBDObjectCropDataset', 'CropObjectBox', 'SUNRGBDPointCropDataset'
]
