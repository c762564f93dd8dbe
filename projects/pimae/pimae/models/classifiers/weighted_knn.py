# Copyright (c) OpenMMLab. All rights reserved.
"""Weighted k-NN classification of frozen features (no training)."""
from typing import Iterable, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def weighted_knn_classify(train_feats: Tensor,
                          train_labels: Tensor,
                          test_feats: Tensor,
                          num_classes: int,
                          k: int = 20,
                          temperature: float = 0.07,
                          chunk_size: int = 1024) -> Tuple[Tensor, Tensor]:
    """Classify test features by a vote of their k nearest train features.

    The weighted k-NN protocol of self-supervised representation
    evaluation (Wu et al., CVPR 2018, "Unsupervised Feature Learning via
    Non-Parametric Instance Discrimination"; used by DINO, Caron et al.,
    ICCV 2021, ``eval_knn.py``): features are L2-normalised, similarity is
    the cosine, each of the ``k`` most similar train samples votes for its
    class with weight ``exp(similarity / temperature)``, and the class with
    the largest sum wins (ties: the lowest class index).

    Args:
        train_feats (Tensor): (N_train, D) features of the labelled set.
        train_labels (Tensor): (N_train, ) int labels in
            [0, ``num_classes``).
        test_feats (Tensor): (N_test, D) features to classify.
        num_classes (int): Number of classes C.
        k (int): Neighbours per test sample; at most N_train are used.
            Defaults to 20 (DINO's default).
        temperature (float): Vote temperature. Defaults to 0.07 (DINO).
        chunk_size (int): Test samples per similarity matrix, to bound
            memory at chunk_size x N_train. Defaults to 1024.

    Returns:
        tuple[Tensor, Tensor]: ``pred`` (N_test, ) int64 predicted classes
        and ``votes`` (N_test, C) summed vote weights.
    """
    if train_feats.dim() != 2 or test_feats.dim() != 2 or \
            train_feats.shape[1] != test_feats.shape[1]:
        raise ValueError(
            'train_feats and test_feats must be (N, D) with the same D, got '
            f'{tuple(train_feats.shape)} and {tuple(test_feats.shape)}')
    if train_labels.shape != train_feats.shape[:1]:
        raise ValueError(f'train_labels must have shape ({len(train_feats)},)'
                         f', got {tuple(train_labels.shape)}')
    if len(train_feats) == 0:
        raise ValueError('the k-NN classifier needs at least one train '
                         'feature')
    labels = train_labels.long()
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f'train_labels must lie in [0, {num_classes}), got '
                         f'[{int(labels.min())}, {int(labels.max())}]')
    if k < 1 or temperature <= 0:
        raise ValueError(f'k must be >= 1 and temperature > 0, got k={k}, '
                         f'temperature={temperature}')
    train = F.normalize(train_feats.float(), dim=1)
    k = min(k, len(train))
    preds, all_votes = [], []
    for start in range(0, len(test_feats), chunk_size):
        test = F.normalize(test_feats[start:start + chunk_size].float(), dim=1)
        sim, index = (test @ train.T).topk(k, dim=1)
        votes = sim.new_zeros(len(test), num_classes).scatter_add_(
            1, labels[index], (sim / temperature).exp())
        preds.append(votes.argmax(dim=1))
        all_votes.append(votes)
    if not preds:
        return (test_feats.new_zeros(0, dtype=torch.long),
                test_feats.new_zeros(0, num_classes))
    return torch.cat(preds), torch.cat(all_votes)


@torch.no_grad()
def extract_features(model: nn.Module,
                     batches: Iterable[dict]) -> Tuple[Tensor, Tensor]:
    """Backbone features and labels of a classifier over a data loader.

    Args:
        model (nn.Module): An mmpretrain classifier (``data_preprocessor``
            and ``extract_feat(inputs, stage='backbone')``), in eval mode.
        batches (Iterable[dict]): Batches of the data loader (``inputs``,
            ``data_samples`` with ``gt_label``).

    Returns:
        tuple[Tensor, Tensor]: (N, D) float32 features (the last output of
        the backbone) and (N, ) int64 labels, on the CPU.
    """
    feats, labels = [], []
    for batch in batches:
        data = model.data_preprocessor(batch, False)
        feats.append(
            model.extract_feat(data['inputs'], stage='backbone')[-1].float()
            .cpu())
        labels.extend(int(s.gt_label) for s in data['data_samples'])
    if not feats:
        raise ValueError('the data loader gave no batch')
    return torch.cat(feats), torch.tensor(labels, dtype=torch.long)
