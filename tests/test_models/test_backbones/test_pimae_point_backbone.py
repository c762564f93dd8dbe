"""PiMAEPointBackbone: PointNet2SASSG's output contract, seeds indexing the
input points, PiMAE's layers one to one, mmdet3d's heads reading it."""
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[3]
#: a small backbone: 40 seeds of 32 channels from 2 encoder layers
SMALL = dict(
    type='PiMAEPointBackbone',
    in_channels=4,
    pre_encoder=dict(
        type='PointNetSetAbstraction',
        num_points=40,
        radius=0.4,
        num_samples=8,
        mlp_channels=(16, 32)),
    encoder=dict(
        type='DETRStyleEncoder',
        num_layers=2,
        layer_cfg=dict(embed_dims=32, num_heads=2, feedforward_channels=16)))


def build(**overrides):
    import projects.pimae.pimae.models  # noqa: F401
    from mmdet3d.registry import MODELS
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        model = MODELS.build(dict(SMALL, **overrides))
    model.init_weights()
    return model


def random_points(batch_size=2, num_points=300, channels=4, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch_size, num_points, channels, generator=generator)


def brute_force_fps(xyz: np.ndarray, num: int) -> np.ndarray:
    """Furthest point sampling as mmcv's kernel defines it: start at point
    0, then repeatedly take the point furthest from the chosen set (the
    first one on ties)."""
    chosen = [0]
    distance = np.full(len(xyz), np.inf)
    for _ in range(num - 1):
        distance = np.minimum(distance,
                              ((xyz - xyz[chosen[-1]])**2).sum(axis=1))
        chosen.append(int(np.argmax(distance)))
    return np.array(chosen)


def test_output_contract_of_pointnet2_sassg():
    torch.manual_seed(0)
    model = build().eval()
    points = random_points()
    with torch.no_grad():
        out = model(points)
    assert set(out) == {
        'fp_xyz', 'fp_features', 'fp_indices', 'sa_xyz', 'sa_features',
        'sa_indices'
    }
    # the heads read the last entry of the fp lists: 40 seeds, (B, C, M)
    assert out['fp_xyz'][-1].shape == (2, 40, 3)
    assert out['fp_features'][-1].shape == (2, 32, 40)
    assert out['fp_indices'][-1].shape == (2, 40)
    assert out['fp_indices'][-1].dtype == torch.int64
    # level 0 of the sa lists is the input, as in PointNet2SASSG
    torch.testing.assert_close(out['sa_xyz'][0], points[..., :3])
    torch.testing.assert_close(out['sa_features'][0],
                               points[..., 3:].transpose(1, 2))
    assert torch.equal(out['sa_indices'][0], torch.arange(300).expand(2, -1))
    assert out['sa_features'][1].shape == (2, 32, 40)
    assert model.num_seeds == 40 and model.out_channels == 32
    # xyz-only input: no input features, like PointNet2SASSG
    model = build(in_channels=3).eval()
    with torch.no_grad():
        out = model(points[..., :3])
    assert out['sa_features'][0] is None
    assert out['fp_features'][-1].shape == (2, 32, 40)


def test_seed_indices_index_the_input_points():
    torch.manual_seed(0)
    model = build().eval()
    points = random_points()
    with torch.no_grad():
        out = model(points)
    for b in range(2):
        indices = out['fp_indices'][-1][b]
        # the seeds are the input points at those indices ...
        assert torch.equal(out['fp_xyz'][-1][b], points[b, indices, :3])
        # ... chosen by furthest point sampling over the input
        expected = brute_force_fps(points[b, :, :3].numpy(), 40)
        np.testing.assert_array_equal(indices.numpy(), expected)
        assert torch.equal(out['sa_indices'][-1][b], indices)


def test_out_channels_projection_for_groupfree3d():
    torch.manual_seed(0)
    model = build(out_channels=288).eval()
    with torch.no_grad():
        out = model(random_points())
    assert out['fp_features'][-1].shape == (2, 288, 40)
    assert (out['fp_features'][-1] >= 0).all()  # Conv1d, BN, ReLU
    assert model.out_channels == 288


def test_default_size_fits_votenet_and_takes_pimae_layers_one_to_one():
    """Defaults: 1024 seeds of 256 channels (VoteNet's head) from 6 layers
    whose parameters have the names and shapes of PiMAE's encoder
    layers."""
    import projects.pimae.pimae.models  # noqa: F401
    from mmdet3d.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    pimae_cfg = Config.fromfile(
        str(ROOT / 'configs' / '_base_' / 'models' / 'pimae.py'))
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        backbone = MODELS.build(dict(type='PiMAEPointBackbone'))
        pimae_encoder = MODELS.build(
            dict(
                pimae_cfg.model.backbone.pts_encoder,
                layer_cfg=dict(
                    pimae_cfg.model.backbone.pts_encoder.layer_cfg,
                    embed_dims=pimae_cfg.model.backbone.embed_dims)))
    assert len(backbone.encoder.layers) == 6
    source = {
        k: v.shape
        for k, v in pimae_encoder.layers[0].state_dict().items()
    }
    for layer in backbone.encoder.layers:
        target = {k: v.shape for k, v in layer.state_dict().items()}
        assert target == source
    torch.manual_seed(0)
    backbone.init_weights()
    backbone.eval()
    with torch.no_grad():
        out = backbone(random_points(1, 2048, channels=3))
    assert out['fp_features'][-1].shape == (1, 256, 1024)
    assert out['fp_xyz'][-1].shape == (1, 1024, 3)


def test_mmdet3d_heads_read_the_seeds():
    """VoteHead and GroupFree3DHead take their seeds from the dict."""
    from mmdet3d.models.dense_heads import GroupFree3DHead, VoteHead
    torch.manual_seed(0)
    model = build().eval()
    with torch.no_grad():
        out = model(random_points())
    for head in (VoteHead, GroupFree3DHead):
        xyz, features, indices = head._extract_input(None, out)
        assert xyz is out['fp_xyz'][-1]
        assert features is out['fp_features'][-1]
        assert indices is out['fp_indices'][-1]


def test_bad_input_is_named():
    model = build()
    with pytest.raises(
            ValueError, match=r'expects points of shape \(B, N, '
            r'4\)'):
        model(random_points(channels=3))
    with pytest.raises(ValueError, match='in_channels must be >= 3'):
        build(in_channels=2)
    with pytest.raises(ValueError, match='embed_dims=32'):
        build(pre_encoder=dict(SMALL['pre_encoder'], mlp_channels=(16, 64)))
    with pytest.raises(ValueError, match='has 300 points but num_points'):
        build(pre_encoder=dict(SMALL['pre_encoder'], num_points=400))(
            random_points())


# ---------------------------------------------------------------------------
# inside mmdet3d's detectors (mmcv's point ops on the project's CPU backend)
# ---------------------------------------------------------------------------
#: PiMAE's backbone at a small size; the 1x1 projection gives the heads the
#: channels their configs expect, so the heads stay as mmdet3d ships them
SMALL_BACKBONE = dict(
    pre_encoder=dict(
        type='PointNetSetAbstraction',
        num_points=32,
        radius=0.5,
        num_samples=8,
        mlp_channels=(16, 32)),
    encoder=dict(
        type='DETRStyleEncoder',
        num_layers=2,
        layer_cfg=dict(embed_dims=32, num_heads=2, feedforward_channels=16)))


def build_detector(config, backbone, **head):
    import projects.pimae.pimae  # noqa: F401
    from mmdet3d.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(str(ROOT / config))
    cfg.model.backbone.update(backbone)
    cfg.model.bbox_head.update(head)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        model = MODELS.build(cfg.model)
        model.init_weights()
    return cfg, model


def test_votehead_gathers_each_seeds_vote_target_through_fp_indices():
    """VoteHead computes vote targets for every input point and gathers the
    seeds' through ``fp_indices``: a seed inside a box must get the box's
    mask and its centre minus the seed as vote (oracle: the geometry of the
    seed coordinates the backbone returned)."""
    from mmengine.structures import InstanceData

    from mmdet3d.structures import DepthInstance3DBoxes
    _, model = build_detector(
        'configs/votenet/votenet_pimae-backbone_8xb16_sunrgbd-3d.py',
        dict(SMALL_BACKBONE, out_channels=256),
        vote_aggregation_cfg=dict(num_point=8))
    model.train()
    points = list(random_points(2, 300, seed=1) * 2)
    boxes = torch.tensor([[0.6, 0.6, 0.6, 0.8, 0.9, 0.7, 0.],
                          [1.5, 1.4, 1.2, 0.6, 0.8, 1.0, 0.]])
    gts = []
    for _ in points:
        gt = InstanceData()
        gt.bboxes_3d = DepthInstance3DBoxes(boxes, origin=(0.5, 0.5, 0.5))
        gt.labels_3d = torch.tensor([0, 3])
        gts.append(gt)
    feats = model.extract_feat(dict(points=points))
    preds = model.bbox_head(feats)
    vote_targets, vote_masks = model.bbox_head.get_targets(
        points, preds, gts, [None, None], [None, None])[:2]
    seed_xyz, seed_indices = feats['fp_xyz'][-1], feats['fp_indices'][-1]
    assert vote_masks.shape == (2, 300)  # targets of the input points
    seed_masks = torch.gather(vote_masks, 1, seed_indices)
    seed_votes = torch.gather(vote_targets, 1,
                              seed_indices.unsqueeze(-1).expand(-1, -1, 9))
    centres, half = boxes[:, :3], boxes[:, 3:6] / 2
    inside = ((seed_xyz.unsqueeze(2) - centres).abs() < half).all(-1)
    assert inside.any() and not inside.all()
    assert torch.equal(seed_masks.bool(), inside.any(-1))
    for b in range(2):
        for box in range(2):
            only_this = inside[b, :, box] & ~inside[b, :, 1 - box]
            torch.testing.assert_close(seed_votes[b, only_this, :3],
                                       centres[box] - seed_xyz[b, only_this])


def test_groupfree3d_loss_on_the_real_format_scannet_sample():
    """mmdet3d's GroupFree3D (L6-O256) config with PiMAE's backbone, its
    ScanNet pipeline on the real-format sample, the loss and gradients
    reaching PiMAE's layers."""
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DefaultScope

    from mmdet3d.registry import DATASETS
    from tests.data import MMDET3D_SAMPLES
    cfg, model = build_detector(
        'configs/groupfree3d/'
        'groupfree3d_pimae-backbone_head-L6-O256_4xb8_scannet-seg.py',
        dict(SMALL_BACKBONE, out_channels=288),
        num_proposal=16)
    dataset_cfg = cfg.train_dataloader.dataset.dataset  # in RepeatDataset
    dataset_cfg.update(
        data_root=str(MMDET3D_SAMPLES / 'scannet') + '/',
        ann_file='scannet_infos.pkl')
    for transform in dataset_cfg.pipeline:
        if transform['type'] == 'PointSample':
            transform['num_points'] = 100  # all of the sample's points
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        dataset = DATASETS.build(dataset_cfg)
        torch.manual_seed(0)
        np.random.seed(0)
        samples = [dataset[0], dataset[0]]
    assert samples[0]['inputs']['points'].shape == (100, 3)
    assert len(samples[0]['data_samples'].gt_instances_3d.bboxes_3d) > 0
    model.train()
    batch = model.data_preprocessor(pseudo_collate(samples), True)
    losses = model(**batch, mode='loss')
    # the proposal sampling loss and the losses of the 6 decoder stages +
    # the proposal stage
    assert 'sampling_objectness_loss' in losses
    assert sum(key.endswith('center_loss') for key in losses) == 7
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    grad = model.backbone.encoder.layers[0].self_attn.in_proj_weight.grad
    assert grad is not None and grad.abs().sum() > 0
