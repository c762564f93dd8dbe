import pytest
import torch

from projects.pimae.pimae.models.tokenizers import PointGroupTokenizer


def small_tokenizer(**kwargs):
    cfg = dict(
        num_groups=16,
        group_size=8,
        embed_dims=32,
        pointnet_channels=(16, 32, 64),
        pos_hidden_dims=16)
    cfg.update(kwargs)
    tokenizer = PointGroupTokenizer(**cfg)
    tokenizer.init_weights()
    return tokenizer


def test_default_layers_match_the_original():
    tokenizer = PointGroupTokenizer()
    shapes = {k: tuple(v.shape) for k, v in tokenizer.state_dict().items()}
    assert shapes['first_conv.0.weight'] == (128, 3, 1)
    assert shapes['first_conv.3.weight'] == (256, 128, 1)
    assert shapes['second_conv.0.weight'] == (512, 512, 1)
    assert shapes['second_conv.3.weight'] == (256, 512, 1)
    assert shapes['pos_embed.0.weight'] == (128, 3)
    assert shapes['pos_embed.2.weight'] == (256, 128)
    assert isinstance(tokenizer.pos_embed[1], torch.nn.GELU)


def test_group_shapes_and_geometry():
    torch.manual_seed(0)
    tokenizer = small_tokenizer()
    points = torch.randn(2, 100, 3)
    neighborhood, center = tokenizer.group(points)
    assert neighborhood.shape == (2, 16, 8, 3)
    assert center.shape == (2, 16, 3)
    # centres are input points, and are their own first neighbour
    for b in range(2):
        dist = torch.cdist(
            center[b], points[b], compute_mode='donot_use_mm_for_euclid_dist')
        assert dist.min(dim=1)[0].max() < 1e-6
    assert neighborhood[:, :, 0].abs().max() < 1e-6
    # neighbours are the 8 nearest points in ascending distance
    absolute = neighborhood + center.unsqueeze(2)
    dist = torch.cdist(
        center[0], points[0], compute_mode='donot_use_mm_for_euclid_dist')
    nearest = dist.topk(8, largest=False)[0]
    got = (absolute[0] - center[0].unsqueeze(1)).norm(dim=-1)
    torch.testing.assert_close(got, nearest, atol=1e-5, rtol=1e-5)


def test_extra_channels():
    tokenizer = small_tokenizer(in_channels=6)
    points = torch.randn(2, 64, 6)
    neighborhood, center = tokenizer.group(points)
    assert neighborhood.shape == (2, 16, 8, 6)
    tokens, _, _ = tokenizer(points)
    assert tokens.shape == (2, 16, 32)


def test_embedding_is_permutation_invariant_within_groups():
    torch.manual_seed(0)
    tokenizer = small_tokenizer().eval()
    neighborhood = torch.randn(2, 5, 8, 3)
    shuffled = neighborhood[:, :, torch.randperm(8)]
    torch.testing.assert_close(
        tokenizer.embed_groups(neighborhood), tokenizer.embed_groups(shuffled))
    tokens, _, center = tokenizer(torch.randn(2, 50, 3))
    assert tokens.shape == (2, 16, 32)


def test_errors():
    tokenizer = small_tokenizer()
    with pytest.raises(ValueError, match='C >= 3'):
        tokenizer.group(torch.randn(2, 64, 2))
    with pytest.raises(ValueError, match='fewer than'):
        tokenizer.group(torch.randn(2, 10, 3))
    with pytest.raises(ValueError, match='in_channels'):
        PointGroupTokenizer(in_channels=2)
