import pytest
import torch

from .._helpers import SMALL_MODEL, build_model, make_batch, small_model_cfg

LOSS_KEYS = {'loss_pts', 'loss_img', 'loss_cross', 'mask_overlap'}


def test_loss_dict_is_finite_and_backprops():
    torch.manual_seed(0)
    model = build_model()
    inputs, samples = make_batch()
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == LOSS_KEYS
    for key, value in losses.items():
        assert value.dim() == 0 and torch.isfinite(value), key
    assert not losses['mask_overlap'].requires_grad
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    missing = [n for n, g in grads.items() if g is None]
    # every parameter takes part in the loss
    assert not missing, missing
    assert all(torch.isfinite(g).all() for g in grads.values())


def test_parse_losses_treats_overlap_as_a_log_value():
    torch.manual_seed(0)
    model = build_model()
    inputs, samples = make_batch()
    losses = model.loss(inputs, samples)
    total, log_vars = model.parse_losses(losses)
    expected = losses['loss_pts'] + losses['loss_img'] + losses['loss_cross']
    torch.testing.assert_close(total, expected)
    assert 'mask_overlap' in log_vars


def test_cross_loss_target_is_detached():
    """The image-specific decoder produces only the cross-modal *target*:
    it must get gradient from loss_img but none from loss_cross. (Image
    tokens still reach the point predictions through the shared encoder and
    the joint decoder, so those do get gradient.)"""
    torch.manual_seed(0)
    model = build_model()
    inputs, samples = make_batch()
    target_only = ('neck.img_decoder_layers', 'neck.img_decoder_norm')
    torch.manual_seed(1)
    model.loss(inputs, samples)['loss_cross'].backward()
    checked = 0
    for name, param in model.named_parameters():
        if name.startswith(target_only):
            assert param.grad is None or param.grad.abs().max() == 0, name
            checked += 1
    assert checked > 0
    # ... but it trains the point side
    assert model.cross_head.increase_dim_feat.weight.grad.abs().max() > 0
    assert model.backbone.pts_encoder.layers[0].linear1.weight.grad.abs().max(
    ) > 0
    model.zero_grad()
    torch.manual_seed(1)
    model.loss(inputs, samples)['loss_img'].backward()
    assert model.neck.img_decoder_norm.weight.grad.abs().max() > 0


def test_loss_weights_scale_the_losses():
    inputs, samples = make_batch()
    results = []
    for weight in (1.0, 2.5):
        torch.manual_seed(0)
        model = build_model(
            pts_head=dict(loss=dict(type='ChamferLoss', loss_weight=weight)),
            img_head=dict(loss=dict(type='mmdet.MSELoss', loss_weight=weight)),
            cross_head=dict(
                loss=dict(type='mmdet.MSELoss', loss_weight=weight))).eval()
        torch.manual_seed(1)
        results.append(model.loss(inputs, samples))
    for key in ('loss_pts', 'loss_img', 'loss_cross'):
        torch.testing.assert_close(results[1][key], 2.5 * results[0][key])


@pytest.mark.parametrize('image_mask_type',
                         ['random', 'uniform', 'complement'])
@pytest.mark.parametrize('point_mask_type', ['random', 'block'])
def test_masking_modes(image_mask_type, point_mask_type):
    torch.manual_seed(0)
    model = build_model(
        backbone=dict(
            masker=dict(
                image_mask_type=image_mask_type,
                point_mask_type=point_mask_type)))
    inputs, samples = make_batch()
    losses = model.loss(inputs, samples)
    assert all(torch.isfinite(v) for v in losses.values())
    if image_mask_type == 'uniform':
        # 9 masked centres hit at most 9 of the 15 masked patches
        assert losses['mask_overlap'] == 1.0
    elif image_mask_type == 'complement':
        # and fit in the 9 visible ones
        assert losses['mask_overlap'] == 0.0


def test_joint_decoder_depth_zero():
    torch.manual_seed(0)
    model = build_model(neck=dict(joint_depth=0))
    assert not any(
        n.startswith('neck.joint') for n, _ in model.named_parameters())
    inputs, samples = make_batch()
    losses = model.loss(inputs, samples)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert all(torch.isfinite(v) for v in losses.values())


def test_tensor_mode_returns_unmasked_features():
    torch.manual_seed(0)
    model = build_model().eval()
    inputs, samples = make_batch()
    feats = model(inputs, mode='tensor')
    assert feats['img_feats'].shape == (2, 24, 32)
    assert feats['pts_feats'].shape == (2, 16, 32)
    assert feats['cls_feat'].shape == (2, 32)
    assert feats['centers'].shape == (2, 16, 3)
    torch.testing.assert_close(
        model.extract_feat(inputs)['pts_feats'], feats['pts_feats'])


def test_predict_returns_reconstructions():
    torch.manual_seed(0)
    model = build_model().eval()
    inputs, samples = make_batch()
    with torch.no_grad():
        torch.manual_seed(5)
        results = model(inputs, samples, mode='predict')
    assert len(results) == 2
    rec = results[0].reconstruction
    assert rec.img_pred.shape == rec.img_rec.shape == (3, 64, 96)
    assert rec.img_mask.shape == (4, 6) and rec.img_mask.sum() == 15
    assert rec.pts_visible.shape == (7 * 8, 3)
    assert rec.pts_masked_gt.shape == rec.pts_masked_pred.shape == (9 * 8, 3)
    assert rec.pts_mask.sum() == 9
    # visible patches come from the input, masked ones from the prediction
    pixel_mask = rec.img_mask.repeat_interleave(16, 0).repeat_interleave(16, 1)
    img = inputs['imgs'][0]
    torch.testing.assert_close(rec.img_rec[:, ~pixel_mask], img[:,
                                                                ~pixel_mask])
    torch.testing.assert_close(rec.img_rec[:, pixel_mask],
                               rec.img_pred[:, pixel_mask])
    assert (rec.img_masked[:, pixel_mask] == 0).all()
    # visible + masked GT points are the input points of the groups
    points = inputs['points'][0]
    for group_points in (rec.pts_visible, rec.pts_masked_gt):
        dist = torch.cdist(
            group_points, points,
            compute_mode='donot_use_mm_for_euclid_dist').min(dim=1)[0]
        assert dist.max() < 1e-5
    # predictions are absolute: the point head's centre-relative output for
    # each masked group (same masks: same seed) plus that group's centre
    with torch.no_grad():
        torch.manual_seed(5)
        depth2img = torch.stack(
            [torch.as_tensor(s.depth2img) for s in samples])
        enc = model.backbone(inputs['points'], inputs['imgs'], depth2img)
        relative = model.pts_head(model._decode(enc).pts_feat)[0]
    assert torch.equal(enc.masks.pts_mask[0], rec.pts_mask)
    masked_centers = rec.pts_centers[rec.pts_mask]  # ascending group order
    torch.testing.assert_close(
        rec.pts_masked_pred,
        (relative + masked_centers[:, None]).reshape(-1, 3))
    # and the ground truth is the masked groups' points
    torch.testing.assert_close(
        rec.pts_masked_gt,
        enc.groups.select(enc.masks.pts_ids_mask).absolute_xyz()[0].reshape(
            -1, 3))
    # no data samples needed for random masking
    assert len(model.predict(inputs)) == 2


def test_sizes_are_checked_not_filled_in():
    """The model is built from its config as written: a size left to a
    sub-module's default that contradicts the backbone is an error naming
    both keys, not silently replaced."""
    from mmdet3d.registry import MODELS
    model = build_model()
    assert model.neck.in_channels == SMALL_MODEL['neck']['in_channels']
    assert model.cross_head.group_size == 8
    cfg = small_model_cfg()
    del cfg['cross_head']['group_size']  # the head's default is 32, not 8
    with pytest.raises(
            ValueError, match=r'cross_head.group_size=32 must equal '
            r'backbone.pts_tokenizer.group_size=8'):
        MODELS.build(cfg)
    with pytest.raises(ValueError, match='neck.in_channels=16'):
        build_model(neck=dict(in_channels=16))


def test_points_as_a_list():
    torch.manual_seed(0)
    model = build_model().eval()
    inputs, samples = make_batch()
    torch.manual_seed(1)
    ref = model.loss(inputs, samples)
    torch.manual_seed(1)
    listed = model.loss(dict(inputs, points=list(inputs['points'])), samples)
    for key in ref:
        torch.testing.assert_close(ref[key], listed[key])
    with pytest.raises(ValueError, match='same N'):
        model.loss(
            dict(
                inputs, points=[inputs['points'][0],
                                inputs['points'][1][:-1]]), samples)


def test_bad_inputs_raise_clear_errors():
    model = build_model()
    inputs, samples = make_batch()
    with pytest.raises(ValueError, match='not divisible by the patch size'):
        model.loss(dict(inputs, imgs=inputs['imgs'][..., :90]), samples)
    with pytest.raises(ValueError, match='img_size'):
        model.loss(dict(inputs, imgs=inputs['imgs'][..., :80]), samples)
    with pytest.raises(ValueError, match='C >= 3'):
        model.loss(dict(inputs, points=inputs['points'][..., :2]), samples)
    with pytest.raises(ValueError, match='fewer than the 16 groups'):
        model.loss(dict(inputs, points=inputs['points'][:, :12]), samples)
    bad = make_batch()[1]
    del bad[1].depth2img
    with pytest.raises(
            ValueError, match=r'sample 1 \(sample_idx=1\) has no '
            'depth2img'):
        model.loss(inputs, bad)
    with pytest.raises(ValueError, match='needs data_samples'):
        model.loss(inputs, None)
    bad = make_batch()[1]
    bad[0].set_metainfo(dict(img_shape=(48, 96)))
    with pytest.raises(ValueError, match='img_shape'):
        model.loss(inputs, bad)
    with pytest.raises(ValueError, match="'imgs'"):
        model.loss(dict(points=inputs['points']), samples)
    with pytest.raises(RuntimeError, match='Invalid mode'):
        model(inputs, samples, mode='train')


def test_overfitting_one_batch_decreases_every_loss():
    torch.manual_seed(0)
    model = build_model()
    inputs, samples = make_batch()
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    history = []
    for _ in range(40):
        torch.manual_seed(0)  # the same masks every step
        losses = model.loss(inputs, samples)
        total = sum(v for k, v in losses.items() if 'loss' in k)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        history.append({k: float(v) for k, v in losses.items()})
    for key in ('loss_pts', 'loss_img', 'loss_cross'):
        first = sum(h[key] for h in history[:3]) / 3
        last = sum(h[key] for h in history[-3:]) / 3
        assert last < 0.75 * first, (key, first, last)


def test_train_step_with_the_data_preprocessor():
    """Packed samples -> PiMAEDataPreprocessor -> PiMAE.loss."""
    from mmengine.optim import OptimWrapper
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet3d')  # as the Runner does (default_scope)
    torch.manual_seed(0)
    model = build_model(
        data_preprocessor=dict(
            type='PiMAEDataPreprocessor', expected_img_shape=(64, 96)))
    inputs, samples = make_batch()
    raw_imgs = [(torch.rand(3, 64, 96) * 255).to(torch.uint8)
                for _ in range(2)]
    data = dict(
        inputs=dict(points=list(inputs['points']), img=raw_imgs),
        data_samples=samples)
    optim_wrapper = OptimWrapper(torch.optim.AdamW(model.parameters()))
    log_vars = model.train_step(data, optim_wrapper)
    assert {'loss', 'loss_pts', 'loss_img', 'loss_cross',
            'mask_overlap'} <= set(log_vars)
    batch = model.data_preprocessor(data, False)
    assert batch['inputs']['imgs'].shape == (2, 3, 64, 96)
    results = model.val_step(data)
    assert results[0].reconstruction.img_rec.shape == (3, 64, 96)


def test_losses_under_bf16_autocast():
    """The --amp path: losses are float32 and backprop."""
    torch.manual_seed(0)
    model = build_model()
    inputs, samples = make_batch()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(inputs, samples)
    for key, value in losses.items():
        assert value.dtype == torch.float32 and torch.isfinite(value), key
    sum(v for k, v in losses.items() if 'loss' in k).backward()


def test_images_are_checked_once_per_forward(monkeypatch):
    """The image tokenizer checks the images; nothing checks them again."""
    model = build_model()
    inputs, samples = make_batch()
    tokenizer = model.backbone.img_tokenizer
    calls = []
    check = tokenizer.check_images
    monkeypatch.setattr(tokenizer, 'check_images',
                        lambda imgs: calls.append(1) or check(imgs))
    model.loss(inputs, samples)
    assert len(calls) == 1
