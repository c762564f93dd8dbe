# Copyright (c) OpenMMLab. All rights reserved.
import pytest
import torch
import torch.nn.functional as F

from projects.pimae.pimae.geometry import (PIMAE_COMPAT_NORM_SHAPE,
                                           PIMAE_COMPAT_UPSAMPLE_SIZE,
                                           sample_feature_map,
                                           sample_patch_tokens)

IMG_SHAPE = (48, 80)  # (H, W)


def linear_map(height: int, width: int, batch: int = 2) -> torch.Tensor:
    """Channel 0 = 1000 * row + col, channel 1 = 7 * col - 3 * row + b."""
    rows, cols = torch.meshgrid(
        torch.arange(height, dtype=torch.float64),
        torch.arange(width, dtype=torch.float64),
        indexing='ij')
    maps = [
        torch.stack([1000 * rows + cols, 7 * cols - 3 * rows + b])
        for b in range(batch)
    ]
    return torch.stack(maps)


def expected_linear(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Values of ``linear_map`` at continuous (col, row) = (x, y)."""
    b = torch.arange(x.shape[0], dtype=x.dtype)[:, None]
    return torch.stack([1000 * y + x, 7 * x - 3 * y + b], dim=-1)


def pixel_centres(height: int, width: int, batch: int = 2) -> torch.Tensor:
    rows, cols = torch.meshgrid(
        torch.arange(height), torch.arange(width), indexing='ij')
    uv = torch.stack([cols, rows], dim=-1).reshape(1, -1, 2)
    return uv.double().expand(batch, -1, -1)


@pytest.mark.parametrize('align_corners', [False, True])
def test_full_resolution_map_exact_at_pixel_centres(align_corners):
    height, width = IMG_SHAPE
    feat = linear_map(height, width)
    uv = pixel_centres(height, width)
    out = sample_feature_map(feat, uv, IMG_SHAPE, align_corners=align_corners)
    assert out.shape == (2, height * width, 2) and out.dtype == feat.dtype
    torch.testing.assert_close(
        out, expected_linear(uv[..., 0], uv[..., 1]), rtol=0, atol=1e-8)


def test_full_resolution_map_exact_between_centres():
    height, width = IMG_SHAPE
    generator = torch.Generator().manual_seed(0)
    uv = torch.rand(2, 500, 2, generator=generator, dtype=torch.float64)
    uv = uv * torch.tensor([width - 1., height - 1.])
    out = sample_feature_map(linear_map(height, width), uv, IMG_SHAPE)
    torch.testing.assert_close(
        out, expected_linear(uv[..., 0], uv[..., 1]), rtol=0, atol=1e-8)


def test_patch_grid_map_uses_pixel_centre_geometry():
    """A 16-pixel patch grid: cell (i, j) has its centre at pixel
    ((j + 0.5) * 16 - 0.5, (i + 0.5) * 16 - 0.5)."""
    patch = 16
    height, width = IMG_SHAPE
    feat = linear_map(height // patch, width // patch)
    generator = torch.Generator().manual_seed(1)
    uv = torch.rand(2, 500, 2, generator=generator, dtype=torch.float64)
    # Stay between the outermost cell centres, where bilinear is exact.
    low = patch / 2 - 0.5
    uv = low + uv * torch.tensor([width - patch, height - patch])
    out = sample_feature_map(feat, uv, IMG_SHAPE)
    cell_x = (uv[..., 0] + 0.5) / patch - 0.5
    cell_y = (uv[..., 1] + 0.5) / patch - 0.5
    torch.testing.assert_close(
        out, expected_linear(cell_x, cell_y), rtol=0, atol=1e-8)


def test_patch_tokens_are_row_major():
    patch = 16
    height, width = IMG_SHAPE
    grid_h, grid_w = height // patch, width // patch
    tokens = torch.randn(2, grid_h * grid_w, 5, dtype=torch.float64)
    index = torch.arange(grid_h * grid_w)
    centres = torch.stack([(index % grid_w + 0.5) * patch - 0.5,
                           (index // grid_w + 0.5) * patch - 0.5],
                          dim=-1).double().expand(2, -1, -1)
    out = sample_patch_tokens(tokens, (grid_h, grid_w), centres, IMG_SHAPE)
    torch.testing.assert_close(out, tokens, rtol=0, atol=1e-12)

    generator = torch.Generator().manual_seed(2)
    uv = torch.rand(2, 100, 2, generator=generator, dtype=torch.float64)
    uv = uv * torch.tensor([width, height]) - 0.5
    feat = tokens.reshape(2, grid_h, grid_w, 5).permute(0, 3, 1, 2)
    for kwargs in [{}, dict(compat_swap_xy=True)]:
        torch.testing.assert_close(
            sample_patch_tokens(tokens, (grid_h, grid_w), uv, IMG_SHAPE,
                                **kwargs),
            sample_feature_map(feat, uv, IMG_SHAPE, **kwargs))


def test_compat_swap_xy_samples_the_transposed_location():
    height, width = IMG_SHAPE
    feat = linear_map(height, width)
    uv = torch.tensor([[[10., 20.], [30.25, 5.5]]],
                      dtype=torch.float64).expand(2, -1, -1)
    correct = sample_feature_map(feat, uv, IMG_SHAPE)
    swapped = sample_feature_map(feat, uv, IMG_SHAPE, compat_swap_xy=True)
    assert not torch.allclose(swapped, correct)
    # The normalised y of the point is used as normalised x and vice versa.
    x, y = uv[..., 0], uv[..., 1]
    transposed = torch.stack([(y + 0.5) / height * width - 0.5,
                              (x + 0.5) / width * height - 0.5],
                             dim=-1)
    torch.testing.assert_close(swapped,
                               sample_feature_map(feat, transposed,
                                                  IMG_SHAPE))


def test_compat_norm_shape_hand_computed():
    """Original: g = (round(v)/530, round(u)/730) [swapped], grid = 2g - 1,
    on a map of the same size as its 256x352 resized image."""
    height, width = PIMAE_COMPAT_UPSAMPLE_SIZE
    feat = linear_map(height, width, batch=1)
    uv = torch.tensor([[[100.3, 200.6]]], dtype=torch.float64)
    # round -> (100, 201); grid_sample with align_corners=False reads the
    # normalised g at map column g * 352 - 0.5 and row g * 256 - 0.5.
    plain = sample_feature_map(
        feat, uv, (530, 730), compat_norm_shape=PIMAE_COMPAT_NORM_SHAPE)
    col, row = 100 / 730 * 352 - 0.5, 201 / 530 * 256 - 0.5
    torch.testing.assert_close(
        plain[0, 0, 0], torch.tensor(1000 * row + col, dtype=torch.float64))
    swapped = sample_feature_map(
        feat,
        uv,
        (530, 730),
        compat_swap_xy=True,
        compat_norm_shape=PIMAE_COMPAT_NORM_SHAPE)
    col, row = 201 / 530 * 352 - 0.5, 100 / 730 * 256 - 0.5
    torch.testing.assert_close(
        swapped[0, 0, 0], torch.tensor(1000 * row + col, dtype=torch.float64))
    # Without rounding or the fixed divisor the value would differ.
    assert not torch.allclose(
        plain, sample_feature_map(feat, uv, (530, 730)))


def test_compat_options_reproduce_official_extract_feat():
    """Transcription of PiMAE's new_align normalisation + extract_feat."""
    generator = torch.Generator().manual_seed(3)
    batch, channels, grid_h, grid_w = 2, 6, 16, 22
    img_feat = torch.randn(
        batch, grid_h * grid_w, channels, generator=generator)
    uv_1based = torch.rand(batch, 50, 2, generator=generator) * torch.tensor(
        [740., 540.]) - 5.
    u = (uv_1based[..., 0] - 1).round() / 730
    v = (uv_1based[..., 1] - 1).round() / 530
    grid = torch.stack([v, u], dim=-1)
    f = img_feat.reshape(batch, grid_h, grid_w, -1).permute(0, 3, 1, 2)
    f_dense = F.interpolate(f, size=(256, 352), mode='bilinear')
    grid = 2.0 * grid.unsqueeze(2) - 1.0
    official = F.grid_sample(f_dense, grid, align_corners=False)
    official = official.squeeze(3).transpose(1, 2)

    ours = sample_patch_tokens(
        img_feat, (grid_h, grid_w),
        uv_1based - 1,
        img_shape=(256, 352),
        compat_swap_xy=True,
        compat_norm_shape=PIMAE_COMPAT_NORM_SHAPE,
        compat_upsample_size=PIMAE_COMPAT_UPSAMPLE_SIZE)
    torch.testing.assert_close(ours, official, rtol=0, atol=1e-6)
    # The correct geometry gives other numbers.
    correct = sample_patch_tokens(
        img_feat, (grid_h, grid_w),
        (uv_1based - 1) * torch.tensor([352 / 730, 256 / 530]),
        img_shape=(256, 352))
    assert not torch.allclose(correct, official, atol=1e-3)


def test_gradients_flow_unless_caller_disables_them():
    feat = torch.randn(1, 3, 4, 5, requires_grad=True)
    uv = torch.tensor([[[10.3, 20.7]]], requires_grad=True)
    out = sample_feature_map(feat, uv, (32, 40))
    out.sum().backward()
    assert feat.grad is not None and feat.grad.abs().sum() > 0
    assert uv.grad is not None and uv.grad.abs().sum() > 0
    with torch.no_grad():
        assert not sample_feature_map(feat, uv, (32, 40)).requires_grad


def test_low_precision_feat_is_sampled_in_float32():
    """A bfloat16 map sampled under bf16 autocast is sampled in float32 and
    rounded once: exactly the float32 result in bfloat16, and at the pixel
    centres its own values to within half a bfloat16 step. (A bfloat16 grid
    would be off by up to ~0.2 px, i.e. up to ~0.2 in channel 0, many
    bfloat16 steps for the small rows.)"""
    height, width = IMG_SHAPE
    feat = (linear_map(height, width).float() / 1000).bfloat16()
    uv = pixel_centres(height, width).float()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = sample_feature_map(feat, uv, IMG_SHAPE)
    assert out.dtype == torch.bfloat16
    reference = sample_feature_map(feat.float(), uv, IMG_SHAPE)
    assert torch.equal(out, reference.bfloat16())
    own = feat.flatten(2).transpose(1, 2).float()  # (B, H * W, C)
    torch.testing.assert_close(out.float(), own, rtol=2**-9, atol=1e-6)


@pytest.mark.parametrize('kwargs, match', [
    (dict(feat=torch.zeros(2, 3, 4)), r'feat must have shape .* \(2, 3, 4\)'),
    (dict(uv=torch.zeros(3, 7, 2)), r'uv must have shape .*B = 2'),
    (dict(uv=torch.zeros(2, 7, 3)), r'uv must have shape'),
    (dict(feat=torch.zeros(2, 3, 4, 5).numpy()), 'feat must be a torch'),
    (dict(img_shape=(32, )), 'img_shape'),
    (dict(img_shape=(32.5, 40)), 'img_shape'),
    (dict(compat_norm_shape=(730, -1)), 'compat_norm_shape'),
    (dict(compat_upsample_size=(0, 10)), 'compat_upsample_size'),
])
def test_sample_feature_map_rejects_bad_inputs(kwargs, match):
    args = dict(feat=torch.zeros(2, 3, 4, 5), uv=torch.zeros(2, 7, 2),
                img_shape=(32, 40))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        sample_feature_map(**args)


def test_sample_patch_tokens_rejects_bad_grid():
    with pytest.raises(ValueError, match=r'tokens must have shape'):
        sample_patch_tokens(
            torch.zeros(2, 10, 3), (3, 4), torch.zeros(2, 5, 2), (48, 64))
    with pytest.raises(ValueError, match='grid_size'):
        sample_patch_tokens(
            torch.zeros(2, 12, 3), (3, ), torch.zeros(2, 5, 2), (48, 64))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='requires CUDA')
def test_cuda_under_float16_autocast():
    height, width = IMG_SHAPE
    feat = linear_map(height // 16, width // 16) / 1000
    generator = torch.Generator().manual_seed(4)
    uv = torch.rand(2, 300, 2, generator=generator, dtype=torch.float64)
    uv = uv * torch.tensor([width, height]) - 0.5
    reference = sample_feature_map(feat, uv, IMG_SHAPE)
    with torch.autocast('cuda', dtype=torch.float16):
        out = sample_feature_map(feat.cuda().half(),
                                 uv.cuda().float(), IMG_SHAPE)
    assert out.is_cuda and out.dtype == torch.float16
    torch.testing.assert_close(
        out.double().cpu(), reference, rtol=2e-3, atol=2e-3)
    with pytest.raises(ValueError, match='uv is on cpu'):
        sample_feature_map(feat.cuda(), uv, IMG_SHAPE)


# ---------------------------------------------------------------------------
# compat_norm_shape on pixels of a resized image: back to the native frame
# ---------------------------------------------------------------------------
def test_native_frame_pixels_inverts_the_resize():
    """A 730x530 image resized to 352x256 moves pixel x to
    (x + 0.5) * 352 / 730 - 0.5 (edges scale, not centres)."""
    from projects.pimae.pimae.geometry import (depth2img_after_resize,
                                               native_frame_pixels,
                                               project_points)
    native = torch.tensor([[[0., 0.], [729., 529.], [100.25, 300.75]]])
    scale = torch.tensor([[352 / 730, 256 / 530]])
    resized = (native + 0.5) * scale[:, None] - 0.5
    torch.testing.assert_close(
        native_frame_pixels(resized.double(), scale.double()),
        native.double())
    # the same through depth2img: project with the resized camera, map back
    depth2img = torch.tensor([[520., 360., 10.], [0., 250., -515.],
                              [0., 1., 0.]], dtype=torch.float64)
    points = torch.tensor([[[0.3, 2.0, 0.1], [-0.8, 3.5, -0.4]]],
                          dtype=torch.float64)
    uv_native, _ = project_points(points, depth2img[None])
    small = torch.from_numpy(
        depth2img_after_resize(depth2img.numpy(), (352 / 730, 256 / 530)))
    uv_small, _ = project_points(points, small[None])
    torch.testing.assert_close(
        native_frame_pixels(uv_small, scale.double()), uv_native)
    # numpy, and one scale for all
    import numpy as np
    out = native_frame_pixels(resized[0].numpy(), np.array([352 / 730,
                                                            256 / 530]))
    np.testing.assert_allclose(out, native[0].numpy(), atol=1e-4)
    with pytest.raises(ValueError, match='native_scale must have shape'):
        native_frame_pixels(resized, torch.ones(2, 2))
    with pytest.raises(ValueError, match='positive'):
        native_frame_pixels(resized, torch.zeros(1, 2))


def test_pixels_to_grid_maps_back_before_the_compat_normalisation():
    from projects.pimae.pimae.geometry import pixels_to_grid
    # native pixel (100, 201) of a 730x530 image, seen in the 352x256 input
    scale = torch.tensor([[352 / 730, 256 / 530]], dtype=torch.float64)
    native = torch.tensor([[[100., 201.]]], dtype=torch.float64)
    resized = (native + 0.5) * scale[:, None] - 0.5
    grid = pixels_to_grid(
        resized, (256, 352),
        compat_norm_shape=PIMAE_COMPAT_NORM_SHAPE,
        native_scale=scale)
    torch.testing.assert_close(
        grid, torch.tensor([[[100 / 730 * 2 - 1, 201 / 530 * 2 - 1]]],
                           dtype=torch.float64))
    # without the native frame: the input pixels divided by 730 x 530
    naive = pixels_to_grid(
        resized, (256, 352), compat_norm_shape=PIMAE_COMPAT_NORM_SHAPE)
    assert naive[0, 0, 0] < grid[0, 0, 0] - 0.1
    # the exact geometry ignores the native frame
    torch.testing.assert_close(
        pixels_to_grid(resized, (256, 352), native_scale=scale),
        pixels_to_grid(resized, (256, 352)))


@pytest.mark.parametrize('meta, expected', [
    (dict(ori_shape=(530, 730)), (352 / 730, 256 / 530)),
    (dict(ori_shape=(480, 640), scale_factor=(352 / 640, 256 / 480)),
     (352 / 640, 256 / 480)),
    (dict(scale_factor=(0.5, 0.25)), (0.5, 0.25)),
    (dict(ori_shape=(256, 352, 3)), (1., 1.)),
])
def test_native_scale_from_metainfo(meta, expected):
    from projects.pimae.pimae.geometry import native_scale_from_metainfo
    assert native_scale_from_metainfo(meta, (256, 352)) == pytest.approx(
        expected)


@pytest.mark.parametrize('meta, match', [
    (dict(img_path='a.jpg'), 'sample 7.*ori_shape or scale_factor'),
    (dict(ori_shape=(600, 800), scale_factor=(0.5, 0.5)), 'cropped or padded'),
    (dict(scale_factor=(0., 1.)), 'two positive numbers'),
])
def test_native_scale_errors_name_the_sample(meta, match):
    from projects.pimae.pimae.geometry import native_scale_from_metainfo
    with pytest.raises(ValueError, match=match):
        native_scale_from_metainfo(meta, (256, 352), name='sample 7')
