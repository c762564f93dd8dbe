"""Transforms of the paired point + image pipeline; each one that moves
points or pixels keeps ``depth2img`` exact."""
from .check_depth2img import CheckDepth2Img
from .crop_object_box import CropObjectBox
from .furthest_point_sample import FurthestPointSample
from .global_flip_rot_scale_with_depth2img import \
    GlobalFlipRotScaleWithDepth2Img
from .load_checked_points_from_file import LoadCheckedPointsFromFile
from .load_image_from_file_with_depth2img import \
    LoadImageFromFileWithDepth2Img
from .load_points_in_box_3d import LoadPointsInBox3D
from .logged_point_sample import LoggedPointSample
from .random_cuboid import RandomCuboid
from .random_image_flip_with_depth2img import RandomImageFlipWithDepth2Img
from .resample_points import ResamplePoints
from .resize_with_depth2img import ResizeWithDepth2Img

__all__ = [
    'CheckDepth2Img', 'FurthestPointSample', 'GlobalFlipRotScaleWithDepth2Img',
    'LoadCheckedPointsFromFile', 'LoadImageFromFileWithDepth2Img',
    'LoggedPointSample', 'RandomImageFlipWithDepth2Img', 'ResizeWithDepth2Img',
    'CropObjectBox', 'RandomCuboid', 'LoadPointsInBox3D', 'ResamplePoints'
]
