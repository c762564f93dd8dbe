# Copyright (c) OpenMMLab. All rights reserved.
"""Frozen-feature probes of PiMAE's point encoder: an mmpretrain classifier
for point clouds, its data preprocessor and backbone (registered in
mmpretrain's ``MODELS``), and the weighted k-NN evaluation."""
from .pimae_point_transformer import PiMAEPointTransformer
from .point_cloud_classifier import PointCloudClassifier
from .point_cls_data_preprocessor import PointClsDataPreprocessor
from .weighted_knn import extract_features, weighted_knn_classify

__all__ = [
    'PiMAEPointTransformer', 'PointCloudClassifier',
    'PointClsDataPreprocessor', 'extract_features', 'weighted_knn_classify'
]
