import pytest
import torch

from projects.pimae.pimae.models.utils import CrossModalMasker, split_by_mask

GRID = (16, 22)
PATCH = 16
IMG_SHAPE = (256, 352)


def grid_scene(batch_size=4, num_groups=128, seed=0):
    """Centres that project (depth2img = identity) to distinct patches.

    With depth2img = I a point (u1, v1, 1) projects to the 0-based pixel
    (u1 - 1, v1 - 1). Centre g sits in the middle of patch
    ``perm[g]`` (a random distinct patch per centre), so the flagged
    patches of a point mask are known exactly.
    """
    generator = torch.Generator().manual_seed(seed)
    patches = torch.stack([
        torch.randperm(GRID[0] * GRID[1], generator=generator)[:num_groups]
        for _ in range(batch_size)
    ])
    rows, cols = patches // GRID[1], patches % GRID[1]
    u1 = cols * PATCH + PATCH / 2 + 1
    v1 = rows * PATCH + PATCH / 2 + 1
    center = torch.stack([u1, v1, torch.ones_like(u1)], dim=-1).float()
    depth2img = torch.eye(3).expand(batch_size, 3, 3)
    return center, depth2img, patches


def expected_flags(patches, pts_mask):
    flags = torch.zeros(patches.size(0), GRID[0] * GRID[1], dtype=torch.bool)
    for b in range(patches.size(0)):
        flags[b, patches[b][pts_mask[b]]] = True
    return flags


def run(masker, center, depth2img):
    return masker(center, GRID, PATCH, depth2img, IMG_SHAPE)


def test_counts_and_ids():
    masker = CrossModalMasker()
    center, depth2img, _ = grid_scene()
    out = run(masker, center, depth2img)
    assert out['pts_mask'].shape == (4, 128)
    assert (out['pts_mask'].sum(1) == 76).all()  # int(0.6 * 128)
    assert (out['img_mask'].sum(1) == 352 - 140).all()  # keep int(352 * .4)
    assert out['pts_ids_keep'].shape == (4, 52)
    assert out['pts_ids_mask'].shape == (4, 76)
    # ascending, disjoint, consistent with the mask
    for ids, masked in ((out['pts_ids_keep'], False), (out['pts_ids_mask'],
                                                       True)):
        assert (ids.diff(dim=1) > 0).all()
        assert (out['pts_mask'].gather(1, ids) == masked).all()
    # visible image ids are exactly the unmasked patches
    assert not out['img_mask'].gather(1, out['img_ids_keep']).any()
    # ids_restore inverts the shuffle: [keep, masked] -> patch order
    order = torch.argsort(out['img_ids_restore'], dim=1)
    torch.testing.assert_close(order[:, :140], out['img_ids_keep'])


def test_flags_are_patches_of_masked_centres():
    masker = CrossModalMasker(image_mask_type='uniform')
    center, depth2img, patches = grid_scene()
    out = run(masker, center, depth2img)
    torch.testing.assert_close(out['flagged_patches'],
                               expected_flags(patches, out['pts_mask']))


def test_centres_behind_camera_or_outside_are_not_flagged():
    masker = CrossModalMasker(image_mask_type='uniform')
    center, depth2img, _ = grid_scene(batch_size=1)
    center = center.clone()
    center[..., 2] = -1.  # all behind the camera
    out = run(masker, center, depth2img)
    assert not out['flagged_patches'].any()
    assert out['mask_overlap'] == 0
    center[..., 2] = 1.
    center[..., 0] = 1e4  # far right of the image
    out = run(masker, center, depth2img)
    assert not out['flagged_patches'].any()


def test_uniform_masks_all_flagged_patches():
    masker = CrossModalMasker(image_mask_type='uniform')
    center, depth2img, patches = grid_scene()
    out = run(masker, center, depth2img)
    flags = expected_flags(patches, out['pts_mask'])
    assert flags.sum(1).max() <= 212
    assert (out['img_mask'] | ~flags).all()
    assert out['mask_overlap'] == 1.0


def test_complement_keeps_all_flagged_patches_visible():
    # 76 flagged patches <= 140 visible ones
    masker = CrossModalMasker(image_mask_type='complement')
    center, depth2img, patches = grid_scene()
    out = run(masker, center, depth2img)
    flags = expected_flags(patches, out['pts_mask'])
    assert not (out['img_mask'] & flags).any()
    assert out['mask_overlap'] == 0.0
    assert (out['img_mask'].sum(1) == 212).all()  # still its own ratio


def test_uniform_when_flags_exceed_the_masked_budget():
    # image ratio 0.2 masks int(352 * 0.2) ~ 71 patches < 76 flagged ones
    masker = CrossModalMasker(image_mask_type='uniform', image_mask_ratio=0.2)
    center, depth2img, patches = grid_scene()
    out = run(masker, center, depth2img)
    flags = expected_flags(patches, out['pts_mask'])
    num_masked = out['img_mask'].sum(1)
    # every masked patch is a flagged one
    assert not (out['img_mask'] & ~flags).any()
    torch.testing.assert_close(out['mask_overlap'],
                               num_masked.sum().float() / flags.sum().float())


def test_random_overlap_is_about_the_ratio():
    torch.manual_seed(0)
    masker = CrossModalMasker(image_mask_type='random')
    center, depth2img, _ = grid_scene(batch_size=32)
    out = run(masker, center, depth2img)
    assert abs(float(out['mask_overlap']) - 212 / 352) < 0.05
    # random image masking does not need depth2img
    out = masker(center, GRID, PATCH)
    assert out['mask_overlap'] is None
    assert (out['img_mask'].sum(1) == 212).all()


def test_block_masks_the_nearest_centres():
    torch.manual_seed(1)
    masker = CrossModalMasker(point_mask_type='block')
    center = torch.rand(8, 128, 3)
    mask = masker.mask_points(center)
    assert (mask.sum(1) == 76).all()
    for b in range(8):
        # some masked seed must have all masked centres nearer than all
        # visible ones
        found = False
        for seed in torch.nonzero(mask[b])[:, 0]:
            dist = (center[b] - center[b, seed]).norm(dim=-1)
            if dist[mask[b]].max() <= dist[~mask[b]].min():
                found = True
                break
        assert found
    # random masking does not have that property (almost surely)
    rand_mask = CrossModalMasker().mask_points(center)
    dist = (center[0] - center[0, rand_mask[0]][0]).norm(dim=-1)
    assert dist[rand_mask[0]].max() > dist[~rand_mask[0]].min()


def test_split_by_mask():
    mask = torch.tensor([[True, False, True, False],
                         [False, False, True, True]])
    keep, masked = split_by_mask(mask)
    torch.testing.assert_close(keep, torch.tensor([[1, 3], [0, 1]]))
    torch.testing.assert_close(masked, torch.tensor([[0, 2], [2, 3]]))


def test_split_by_mask_with_a_known_count():
    """The masker passes its count, so nothing is read from the device; the
    result is the one read from the mask, and a wrong count is caught."""
    mask = torch.tensor([[True, False, True, False],
                         [False, False, True, True]])
    keep, masked = split_by_mask(mask, 2)
    torch.testing.assert_close(keep, torch.tensor([[1, 3], [0, 1]]))
    torch.testing.assert_close(masked, torch.tensor([[0, 2], [2, 3]]))
    with pytest.raises(RuntimeError, match='exactly 1 tokens'):
        split_by_mask(mask, 1)
    with pytest.raises(ValueError, match=r'num_masked must be in \[0, 4\]'):
        split_by_mask(mask, 5)


def test_errors():
    with pytest.raises(ValueError, match='image_mask_type'):
        CrossModalMasker(image_mask_type='aligned')
    with pytest.raises(ValueError, match='point_mask_type'):
        CrossModalMasker(point_mask_type='complement')
    with pytest.raises(ValueError, match='point_mask_ratio'):
        CrossModalMasker(point_mask_ratio=1.0)
    center, _, _ = grid_scene(batch_size=1)
    with pytest.raises(ValueError, match='depth2img'):
        CrossModalMasker(image_mask_type='complement')(center, GRID, PATCH)
    with pytest.raises(ValueError, match='at least one'):
        CrossModalMasker(point_mask_ratio=0.005).mask_points(center)


def test_point_mask_type_spelling():
    """One spelling, 'random', as for the image; the original's 'rand'
    (in old configs) is read as it."""
    assert CrossModalMasker().point_mask_type == 'random'
    assert CrossModalMasker(point_mask_type='rand').point_mask_type == \
        'random'
    with pytest.raises(ValueError, match="'random', 'block'"):
        CrossModalMasker(point_mask_type='uniform')


def test_compat_lookup_uses_the_native_frame():
    """With compat_norm_shape the centres' pixels of the network input are
    mapped back to the native image before the original's lookup
    ``floor(round(x) / 730 * 351 / 16)``."""
    center, depth2img, _ = grid_scene(batch_size=2)
    masker = CrossModalMasker(compat_norm_shape=(530, 730))
    with pytest.raises(ValueError, match='native_scale'):
        run(masker, center, depth2img)
    # native 730x530 and 612x447 (no centre lands on a rounding tie)
    scale = torch.tensor([[352 / 730, 256 / 530], [352 / 612, 256 / 447]])
    torch.manual_seed(0)
    out = masker(center, GRID, PATCH, depth2img, IMG_SHAPE,
                 native_scale=scale)
    for b in range(2):
        uv = center[b, out['pts_mask'][b], :2] - 1
        native = (uv + 0.5) / scale[b] - 0.5
        col = torch.floor(native[:, 0].round() / 730 * 351 / 16)
        row = torch.floor(native[:, 1].round() / 530 * 255 / 16)
        inside = (col < 22) & (row < 16)
        expected = set((row * 22 + col)[inside].long().tolist())
        got = set(out['flagged_patches'][b].nonzero()[:, 0].tolist())
        assert got == expected
