"""PiMAE's compat options through the real data pipeline.

Two scenes (native images of 730x530 and 640x480) go through the
pre-training config's pipeline (resized to 256x352, ``depth2img`` updated)
and the default PiMAE with the original's geometry options. The
cross-modal targets and the patches flagged by the masker must be what the
original's formulas give on the *native-frame* projection (the original
projects with the native camera matrix and divides by 730 and 530), written
out here independently of the project's geometry code.
"""
import inspect
import pickle

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope

from tests.data import MMDET3D_SAMPLES

ROOT = MMDET3D_SAMPLES.parents[2]
NUM_POINTS = 3000
#: depth frame (x right, y forward, z up) -> camera (x right, y down, z fwd)
DEPTH_TO_CAMERA = np.array([[1., 0., 0.], [0., 0., -1.], [0., 1., 0.]])


def tilt(angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1., 0., 0.], [0., c, -s], [0., s, c]])


def write_scene(root, index, width, height, seed):
    """Points back-projected from random pixels of a native image, the
    image, and the info entry (mmdet3d v1.x SUN RGB-D format)."""
    rng = np.random.default_rng(seed)
    focal = 0.72 * width
    k = np.array([[focal, 0., (width + 1) / 2], [0., focal, (height + 1) / 2],
                  [0., 0., 1.]])
    rt = tilt(0.08)
    depth2img = k @ DEPTH_TO_CAMERA @ rt.T
    uv1 = rng.uniform([1., 1.], [width, height], (NUM_POINTS, 2))
    depth = rng.uniform(1.5, 5., (NUM_POINTS, 1))
    cam = np.linalg.solve(k,
                          np.concatenate([uv1, np.ones(
                              (NUM_POINTS, 1))], 1).T).T * depth
    xyz = cam @ DEPTH_TO_CAMERA @ rt.T  # (Rt F^T cam^T)^T
    points = np.concatenate([xyz, rng.random((NUM_POINTS, 3))], 1)
    name = f'{index:06d}'
    (root / 'points').mkdir(exist_ok=True)
    points.astype(np.float32).tofile(str(root / 'points' / f'{name}.bin'))
    image = cv2.resize(
        rng.integers(0, 256, (12, 16, 3)).astype(np.uint8), (width, height),
        interpolation=cv2.INTER_LINEAR)
    (root / 'image').mkdir(exist_ok=True)
    cv2.imwrite(str(root / 'image' / f'{name}.png'), image)
    return dict(
        images=dict(
            CAM0=dict(
                img_path=f'{name}.png',
                height=height,
                width=width,
                depth2img=depth2img.tolist())),
        lidar_points=dict(lidar_path=f'{name}.bin', num_pts_feats=6),
        instances=[]), depth2img


@pytest.fixture(scope='module')
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp('compat_scenes')
    infos, native = [], []
    for index, (width, height) in enumerate([(730, 530), (640, 480)]):
        info, depth2img = write_scene(root, index, width, height, index)
        infos.append(info)
        native.append(depth2img)
    with open(root / 'infos.pkl', 'wb') as f:
        pickle.dump(dict(metainfo=dict(DATASET='SUNRGBD'), data_list=infos), f)
    import projects.pimae.pimae  # noqa: F401
    from mmdet3d.registry import DATASETS
    cfg = Config.fromfile(
        str(ROOT / 'configs' / '_base_' / 'datasets' / 'sunrgbd_pretrain.py'))
    dataset_cfg = cfg.train_dataloader.dataset
    pipeline = dataset_cfg.pipeline
    for step in pipeline:
        if step['type'] == 'LoggedPointSample':
            step['num_points'] = NUM_POINTS  # all points, fewer to FPS
    assert [s['type'] for s in pipeline].index('ResizeWithDepth2Img') > 0
    dataset_cfg.update(
        data_root=str(root),
        ann_file='infos.pkl',
        data_prefix=dict(pts='points', img='image'),
        skip_bad_samples=False)
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        dataset = DATASETS.build(dataset_cfg)
        samples = [dataset[0], dataset[1]]
    return samples, native


@pytest.fixture(scope='module')
def compat_model():
    from mmdet3d.registry import MODELS
    cfg = Config.fromfile(
        str(ROOT / 'configs' / '_base_' / 'models' / 'pimae.py'))
    cfg.model.backbone.masker.compat_norm_shape = (530, 730)
    cfg.model.cross_head.update(
        compat_swap_xy=True,
        compat_norm_shape=(530, 730),
        compat_upsample_size=(256, 352))
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def capture(monkeypatch, module, name):
    """Record the bound arguments and the result of ``module.name``."""
    method = getattr(module, name)
    calls = []

    def wrapper(*args, **kwargs):
        result = method(*args, **kwargs)
        bound = inspect.signature(method).bind(*args, **kwargs)
        bound.apply_defaults()
        calls.append((bound.arguments, result))
        return result

    monkeypatch.setattr(module, name, wrapper)
    return calls


def native_pixels(xyz, depth2img):
    """0-based pixels of the native image as the original gets them:
    ``round(u - 1)``, plus whether a coordinate is within 1e-3 of a rounding
    tie (float32 rounding could go either way there)."""
    hom = xyz @ depth2img.T
    uv = hom[..., :2] / hom[..., 2:] - 1
    near_tie = (np.abs(uv - np.floor(uv) - 0.5) < 1e-3).any(-1)
    return np.round(uv), near_tie


@pytest.fixture(scope='module')
def run(batch, compat_model):
    samples, _ = batch
    monkeypatch = pytest.MonkeyPatch()
    targets = capture(monkeypatch, compat_model.cross_head, 'construct_target')
    flags = capture(monkeypatch, compat_model.backbone.masker, 'flag_patches')
    torch.manual_seed(0)
    data = compat_model.data_preprocessor(pseudo_collate(samples), True)
    losses = compat_model(**data, mode='loss')
    monkeypatch.undo()
    return losses, targets, flags


def test_pipeline_carries_the_native_frame(batch):
    samples, _ = batch
    metas = [s['data_samples'].metainfo for s in samples]
    assert [m['ori_shape'] for m in metas] == [(530, 730), (480, 640)]
    assert all(m['img_shape'] == (256, 352) for m in metas)
    np.testing.assert_allclose(metas[1]['scale_factor'],
                               (352 / 640, 256 / 480))


def test_cross_modal_target_is_the_original_formula_on_native_pixels(
        batch, compat_model, run):
    _, native = batch
    losses, targets, _ = run
    assert all(torch.isfinite(v) for v in losses.values())
    assert len(targets) == 1
    args, target = targets[0]
    img_feat = args['img_feat'].detach()
    points = args['points'].detach().double().numpy()
    batch_size, num_masked, group_size = points.shape[:3]
    channels = img_feat.shape[-1]
    # the original: g = round(u - 1) / 730, round(v - 1) / 530 on the
    # native projection, grid [v, u] * 2 - 1, the decoder's 16x22 map
    # upsampled to 256x352, grid_sample (bilinear, zeros, corners off)
    grids, keep = [], []
    for b in range(batch_size):
        pix, near_tie = native_pixels(points[b].reshape(-1, 3), native[b])
        norm = pix / np.array([730., 530.])
        grids.append(np.stack([norm[:, 1], norm[:, 0]], -1) * 2 - 1)
        keep.append(~near_tie)
    grid = torch.from_numpy(np.stack(grids)).float()
    fmap = img_feat.transpose(1, 2).reshape(batch_size, channels, 16, 22)
    fmap = F.interpolate(
        fmap, size=(256, 352), mode='bilinear', align_corners=False)
    expected = F.grid_sample(
        fmap, grid[:, None], align_corners=False)[:, :, 0].transpose(1, 2)
    got = target.reshape(batch_size, -1, channels)
    keep = torch.from_numpy(np.stack(keep))
    assert keep.float().mean() > 0.99
    torch.testing.assert_close(got[keep], expected[keep], atol=1e-5, rtol=1e-5)
    # the native frames of the two samples do differ (730 vs 640 wide) and
    # the points land all over the image, not only in its top-left part
    assert (grid[..., 1] > 0.5).any() and (grid[..., 0] > 0.5).any()
    # dividing the network-input pixels by 730 x 530 (no native frame) is
    # what the original does NOT compute
    naive_args = dict(args, native_scale=torch.ones_like(args['native_scale']))
    naive = compat_model.cross_head.construct_target(**naive_args)
    assert (naive - target).abs().max() > 1e-2


def test_flagged_patches_are_the_original_lookup_on_native_pixels(batch, run):
    _, native = batch
    _, _, flags = run
    assert len(flags) == 1
    args, flagged = flags[0]
    center = args['center'].double().numpy()
    point_mask = args['point_mask'].numpy()
    for b in range(len(center)):
        pix, near_tie = native_pixels(center[b][point_mask[b]], native[b])
        # get_center_masks: floor(u_n * (W - 1) / 16), W = 352, H = 256
        col = np.floor(pix[:, 0] / 730. * 351 / 16).astype(int)
        row = np.floor(pix[:, 1] / 530. * 255 / 16).astype(int)
        inside = (col >= 0) & (col < 22) & (row >= 0) & (row < 16)
        sure = set((row * 22 + col)[inside & ~near_tie].tolist())
        got = set(np.flatnonzero(flagged[b].numpy()).tolist())
        assert sure <= got
        assert len(got - sure) <= int(near_tie.sum())
        assert len(sure) > 20
