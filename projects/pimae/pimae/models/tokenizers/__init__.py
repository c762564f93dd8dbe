# Copyright (c) OpenMMLab. All rights reserved.
from .image_patch_tokenizer import ImagePatchTokenizer
from .point_group_tokenizer import PointGroupTokenizer

__all__ = ['PointGroupTokenizer', 'ImagePatchTokenizer']
