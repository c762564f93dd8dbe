import torch

from mmdet3d.structures import Det3DDataSample
from projects.pimae.pimae.visualization import pack_reconstructions


def test_pack_reconstructions_by_hand():
    """2 x 3 patches of 2 px: patch (0, 1) and (1, 2) masked."""
    imgs = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).reshape(2, 3, 4, 6)
    img_pred = -torch.ones_like(imgs)
    img_mask = torch.tensor([[False, True, False], [False, False, True]])
    img_mask = img_mask.expand(2, 2, 3)
    groups = torch.rand(2, 4, 2, 3)
    centers = torch.rand(2, 4, 3)
    pts_mask = torch.tensor([[True, False, True, False]] * 2)
    samples = [Det3DDataSample(), Det3DDataSample()]
    out = pack_reconstructions(
        imgs,
        img_pred,
        img_mask,
        pts_visible=groups[:, ~pts_mask[0]],
        pts_masked_gt=groups[:, pts_mask[0]],
        pts_masked_pred=groups[:, pts_mask[0]] + 1,
        pts_centers=centers,
        pts_mask=pts_mask,
        mask_overlap=torch.tensor(0.5),
        data_samples=samples)
    assert out[0] is samples[0] and len(out) == 2
    rec = out[1].reconstruction
    expected = imgs[1].clone()
    expected[:, 0:2, 2:4] = -1  # patch (0, 1)
    expected[:, 2:4, 4:6] = -1  # patch (1, 2)
    assert torch.equal(rec.img_rec, expected)
    masked = imgs[1].clone()
    masked[expected == -1] = 0
    assert torch.equal(rec.img_masked, masked)
    assert torch.equal(rec.img_input, imgs[1])
    assert torch.equal(rec.pts_visible, groups[1, [1, 3]].reshape(-1, 3))
    assert torch.equal(rec.pts_masked_pred,
                       groups[1, [0, 2]].reshape(-1, 3) + 1)
    assert rec.pts_masked_gt.shape == (4, 3)
    assert float(rec.mask_overlap) == 0.5
    # new samples without data samples, no overlap field without one
    new = pack_reconstructions(imgs, img_pred, img_mask, groups[:, :2],
                               groups[:, 2:], groups[:, 2:], centers, pts_mask)
    assert len(new) == 2 and 'mask_overlap' not in new[0].reconstruction
