"""weighted_knn_classify on hand-built features with known neighbours."""
import math

import pytest
import torch

from projects.pimae.pimae.models.classifiers import weighted_knn_classify


def on_circle(degrees, radius=1.):
    angles = torch.tensor(degrees, dtype=torch.float64) * math.pi / 180
    return radius * torch.stack([angles.cos(), angles.sin()], dim=1)


def test_nearest_neighbours_vote():
    # three clusters on the unit circle: class 0 near 0 deg, 1 near 90,
    # 2 near 180; features of any length (cosine similarity)
    train = on_circle([-10, 0, 10, 80, 90, 100, 170, 180, 190],
                      radius=3.)
    labels = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2])
    test = on_circle([5, 95, 185, 275, 60])
    pred, votes = weighted_knn_classify(
        train, labels, test, num_classes=3, k=3)
    # 275 deg: nearest are -10 (75 deg away), 190 (85), 0 (85) -> class 0
    # 60 deg: nearest are 80 (20 deg), 90 (30), 100 (40) -> class 1
    assert pred.tolist() == [0, 1, 2, 0, 1]
    # the votes are sums of exp(cos / 0.07) over the 3 neighbours
    expected_60 = sum(math.exp(math.cos(math.radians(d)) / 0.07)
                      for d in (20, 30, 40))
    assert votes[4, 1].item() == pytest.approx(expected_60, rel=1e-5)
    assert votes[4, 0].item() == 0 and votes[4, 2].item() == 0


def test_similarity_weights_beat_the_majority():
    # class 1 at 10 deg is much closer to the query at 0 deg than the two
    # class-0 samples at +-60 deg
    train = on_circle([60, -60, 10])
    labels = torch.tensor([0, 0, 1])
    test = on_circle([0])
    sharp, _ = weighted_knn_classify(
        train, labels, test, num_classes=2, k=3, temperature=0.07)
    # exp(cos10 / 0.07) = 1.3e6 > 2 exp(cos60 / 0.07) = 2.5e3
    assert sharp.tolist() == [1]
    # nearly uniform weights: a majority vote, 2 against 1
    flat, votes = weighted_knn_classify(
        train, labels, test, num_classes=2, k=3, temperature=100.)
    assert flat.tolist() == [0]
    assert votes[0, 0].item() == pytest.approx(2 * math.exp(0.5 / 100))


def test_k_larger_than_the_train_set_and_chunks():
    train = on_circle([0, 120, 240])
    labels = torch.tensor([2, 0, 1])
    test = on_circle([10, 130, 250, 350, 110])
    full, votes = weighted_knn_classify(
        train, labels, test, num_classes=3, k=50, chunk_size=2)
    assert full.tolist() == [2, 0, 1, 2, 0]
    # every train sample voted for every test sample
    assert (votes > 0).all()
    one, _ = weighted_knn_classify(train, labels, test, num_classes=3, k=1)
    assert one.tolist() == full.tolist()


def test_bad_inputs():
    train, labels = on_circle([0, 90]), torch.tensor([0, 1])
    with pytest.raises(ValueError, match='same D'):
        weighted_knn_classify(train, labels, torch.zeros(1, 3), 2)
    with pytest.raises(ValueError, match=r'must lie in \[0, 2\)'):
        weighted_knn_classify(train, torch.tensor([0, 2]), train, 2)
    with pytest.raises(ValueError, match='k must be >= 1'):
        weighted_knn_classify(train, labels, train, 2, k=0)
    with pytest.raises(ValueError, match='train_labels must have shape'):
        weighted_knn_classify(train, labels[:1], train, 2)
