# Copyright (c) OpenMMLab. All rights reserved.
import math

import numpy as np
import pytest
import torch

from projects.pimae.pimae.geometry import pixel_to_patch_index

IMG_SHAPE = (64, 96)  # (H, W): a 4 x 6 grid of 16-pixel patches
PATCH = 16


def brute_force_index(x: float, y: float, img_shape, patch: int,
                      clamp: bool) -> int:
    """Search every patch for the pixel nearest to (x, y)."""
    height, width = img_shape
    if not (math.isfinite(x) and math.isfinite(y)):
        return -1
    col, row = math.floor(x + 0.5), math.floor(y + 0.5)  # pixel holding it
    if clamp:
        col, row = min(max(col, 0), width - 1), min(max(row, 0), height - 1)
    index = 0
    for patch_row in range(height // patch):
        for patch_col in range(width // patch):
            if (patch_row * patch <= row < (patch_row + 1) * patch
                    and patch_col * patch <= col < (patch_col + 1) * patch):
                return index
            index += 1
    return -1


def _test_points(rng):
    height, width = IMG_SHAPE
    edges = [-0.5, -0.51, 15.49, 15.5, 31.5, width - 0.5, width - 0.51]
    special = [(x, y) for x in edges for y in [-0.5, 15.5, height - 0.51]]
    special += [(np.nan, 3.), (3., np.inf), (-np.inf, 3.), (1e30, -1e30)]
    random = rng.uniform([-30., -30.], [width + 30., height + 30.], (300, 2))
    return np.concatenate([np.array(special), random])


@pytest.mark.parametrize('clamp', [False, True])
def test_matches_brute_force(clamp):
    uv = _test_points(np.random.default_rng(0))
    expected = [
        brute_force_index(x, y, IMG_SHAPE, PATCH, clamp) for x, y in uv
    ]
    result = pixel_to_patch_index(uv, IMG_SHAPE, PATCH, clamp=clamp)
    assert result.dtype == np.int64
    np.testing.assert_array_equal(result, expected)
    result_t = pixel_to_patch_index(
        torch.from_numpy(uv).float(), IMG_SHAPE, PATCH, clamp=clamp)
    assert result_t.dtype == torch.long
    assert result_t.tolist() == expected


def test_index_matches_mae_patchify_order():
    """Patch i of MAE's patchify (row-major) holds the pixels mapped to i."""
    height, width = IMG_SHAPE
    pixel_ids = torch.arange(height * width).reshape(height, width)
    patches = pixel_ids.reshape(height // PATCH, PATCH, width // PATCH, PATCH)
    patches = patches.permute(0, 2, 1, 3).reshape(-1, PATCH**2)
    rows, cols = torch.meshgrid(
        torch.arange(height), torch.arange(width), indexing='ij')
    uv = torch.stack([cols, rows], dim=-1).reshape(-1, 2).float()
    index = pixel_to_patch_index(uv, IMG_SHAPE, PATCH)
    ids = pixel_ids.reshape(-1)
    assert (patches[index] == ids[:, None]).any(dim=1).all()


def test_batched_and_valid_mask():
    uv = torch.tensor([[[0., 0.], [95., 63.], [40., 20.]],
                       [[17., 1.], [-3., 5.], [50., 50.]]])
    valid = torch.tensor([[True, True, False], [True, True, True]])
    index = pixel_to_patch_index(uv, IMG_SHAPE, PATCH, valid=valid)
    assert index.tolist() == [[0, 23, -1], [1, -1, 21]]
    clamped = pixel_to_patch_index(
        uv, IMG_SHAPE, PATCH, valid=valid, clamp=True)
    assert clamped.tolist() == [[0, 23, -1], [1, 0, 21]]
    # numpy valid mask with torch uv is accepted.
    assert pixel_to_patch_index(
        uv, IMG_SHAPE, PATCH, valid=valid.numpy()).tolist() == index.tolist()


def test_compat_matches_official_get_center_masks():
    """Transcription of PiMAE's new_align (normalise) + get_center_masks."""
    height, width = 256, 352
    rng = np.random.default_rng(1)
    uv = torch.from_numpy(rng.uniform(0., 729., (200, 2))).float()
    uv[:, 1] = uv[:, 1] * 529. / 729.
    u, v = uv[:, 0].round() / 730, uv[:, 1].round() / 530
    col = torch.floor(u * (width - 1) / 16)
    row = torch.floor(v * (height - 1) / 16)
    expected = (row * (width // 16) + col).long()
    result = pixel_to_patch_index(
        uv, (height, width), 16, compat_norm_shape=(530, 730))
    assert torch.equal(result, expected)
    # It differs from the exact geometry, which divides by the real size.
    exact = pixel_to_patch_index(uv * torch.tensor([352 / 730, 256 / 530]),
                                 (height, width), 16)
    assert not torch.equal(result, exact)


@pytest.mark.parametrize('kwargs, match', [
    (dict(img_shape=(64, 90)), r'img_shape .*\(64, 90\).* divisible'),
    (dict(img_shape=(60, 96)), 'divisible by patch_size'),
    (dict(patch_size=0), 'patch_size must be a positive integer'),
    (dict(patch_size=16.0), 'patch_size must be a positive integer'),
    (dict(img_shape=(64, )), 'img_shape must be a pair'),
    (dict(uv=np.zeros((5, 3))), r'uv must have shape \(\.\.\., N, 2\)'),
    (dict(valid=np.ones(4, dtype=bool)), r'valid must have shape .*\(5,\)'),
    (dict(compat_norm_shape=(730, 0)), 'compat_norm_shape'),
])
def test_rejects_bad_inputs(kwargs, match):
    args = dict(uv=np.zeros((5, 2)), img_shape=IMG_SHAPE, patch_size=PATCH)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        pixel_to_patch_index(**args)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='requires CUDA')
def test_cuda_matches_cpu():
    uv = torch.from_numpy(_test_points(np.random.default_rng(2)))
    valid = torch.rand(len(uv)) > 0.2
    for clamp in (False, True):
        cpu = pixel_to_patch_index(uv, IMG_SHAPE, PATCH, valid, clamp)
        cuda = pixel_to_patch_index(uv.cuda(), IMG_SHAPE, PATCH, valid, clamp)
        assert cuda.is_cuda and torch.equal(cuda.cpu(), cpu)


def test_compat_maps_resized_pixels_back_to_the_native_frame():
    """Pixels of the 256x352 input of a 640x480 native image: the original
    looks up round(native pixel) / 730 (its native camera)."""
    height, width = 256, 352
    rng = np.random.default_rng(2)
    native = rng.uniform(0., 639., (300, 2))
    native[:, 1] *= 479. / 639.
    # keep away from rounding ties
    native = np.round(native) + rng.uniform(-0.4, 0.4, native.shape)
    scale = np.array([352 / 640, 256 / 480])
    resized = (native + 0.5) * scale - 0.5
    col = np.floor(np.round(native[:, 0]) / 730 * (width - 1) / 16)
    row = np.floor(np.round(native[:, 1]) / 530 * (height - 1) / 16)
    expected = (row * 22 + col).astype(np.int64)
    for uv, factors in ((resized, scale), (torch.from_numpy(resized),
                                           torch.from_numpy(scale))):
        result = pixel_to_patch_index(
            uv, (height, width),
            16,
            compat_norm_shape=(530, 730),
            native_scale=factors)
        np.testing.assert_array_equal(np.asarray(result), expected)
    # 640x480 frames only reach the top-left of the grid in the original
    assert expected.max() < 22 * 15
    naive = pixel_to_patch_index(
        resized, (height, width), 16, compat_norm_shape=(530, 730))
    assert not np.array_equal(naive, expected)
