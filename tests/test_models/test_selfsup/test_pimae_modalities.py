"""PiMAE's ablations at model level: one modality alone, no cross-modal
head, no shared encoder layers."""
import pytest
import torch

from .._helpers import build_model, make_batch, small_model_cfg

#: overrides of the small model that remove the image branch
POINT_ONLY = dict(
    backbone=dict(
        modalities=('points', ), img_tokenizer=None, img_encoder=None),
    neck=dict(modalities=('points', )),
    img_head=None,
    cross_head=None)
#: overrides of the small model that remove the point branch
IMAGE_ONLY = dict(
    backbone=dict(
        modalities=('images', ), pts_tokenizer=None, pts_encoder=None),
    neck=dict(modalities=('images', )),
    pts_head=None,
    cross_head=None)


def samples_without_depth2img(batch_size=2):
    from mmdet3d.structures import Det3DDataSample
    samples = [Det3DDataSample() for _ in range(batch_size)]
    for index, sample in enumerate(samples):
        sample.set_metainfo(dict(sample_idx=index))
    return samples


def backward_reaches_every_parameter(model, losses):
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, missing


@pytest.mark.parametrize('overrides, key, absent', [
    (POINT_ONLY, 'points', 'img'),
    (IMAGE_ONLY, 'imgs', 'pts'),
])
def test_one_modality_trains_on_that_modality_alone(overrides, key, absent):
    torch.manual_seed(0)
    model = build_model(**overrides)
    names = [n for n, _ in model.named_parameters()]
    # no parameter of the other modality (modality embeds and heads alike)
    assert not [n for n in names if absent in n.split('.')[1]], names
    assert not [n for n in names if n.startswith('cross_head')]
    inputs, _ = make_batch()
    # only this modality in the inputs, and no depth2img in the samples
    losses = model.loss({key: inputs[key]}, samples_without_depth2img())
    expected = 'loss_pts' if key == 'points' else 'loss_img'
    assert set(losses) == {expected}
    assert losses[expected].dim() == 0 and torch.isfinite(losses[expected])
    backward_reaches_every_parameter(model, losses)


@pytest.mark.parametrize('overrides, key', [(POINT_ONLY, 'points'),
                                            (IMAGE_ONLY, 'imgs')])
def test_one_modality_overfits_one_batch(overrides, key):
    torch.manual_seed(0)
    model = build_model(**overrides)
    inputs = {key: make_batch()[0][key]}
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    history = []
    for _ in range(25):
        torch.manual_seed(0)  # the same masks every step
        loss = sum(model.loss(inputs, None).values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(float(loss.detach()))
    assert sum(history[-3:]) < 0.75 * sum(history[:3]), history


def test_point_only_tensor_mode_and_missing_points():
    torch.manual_seed(0)
    model = build_model(**POINT_ONLY).eval()
    inputs, _ = make_batch()
    feats = model(dict(points=inputs['points']), mode='tensor')
    assert set(feats) == {'cls_feat', 'pts_feats', 'centers'}
    assert feats['pts_feats'].shape == (2, 16, 32)
    # images in the inputs are not read by a point-only model
    torch.testing.assert_close(
        model(inputs, mode='tensor')['pts_feats'], feats['pts_feats'])
    with pytest.raises(
            ValueError, match=r"needs inputs = \{'points': \.\.\.\}"):
        model.loss(dict(imgs=inputs['imgs']), None)
    with pytest.raises(ValueError, match='paired reconstructions'):
        model.predict(dict(points=inputs['points']))


def test_image_only_tensor_mode():
    torch.manual_seed(0)
    model = build_model(**IMAGE_ONLY).eval()
    inputs, _ = make_batch()
    feats = model(dict(imgs=inputs['imgs']), mode='tensor')
    assert set(feats) == {'cls_feat', 'img_feats'}
    assert feats['img_feats'].shape == (2, 24, 32)


def test_no_cross_head_changes_nothing_but_the_cross_loss():
    """Without the cross-modal head the other losses are those of the full
    model with the same weights: the head only reads the decoder."""
    torch.manual_seed(0)
    full = build_model().eval()
    ablated = build_model(cross_head=None).eval()
    state = {
        k: v
        for k, v in full.state_dict().items() if not k.startswith('cross')
    }
    ablated.load_state_dict(state, strict=True)
    inputs, samples = make_batch()
    torch.manual_seed(1)
    ref = full.loss(inputs, samples)
    torch.manual_seed(1)
    losses = ablated.loss(inputs, samples)
    assert set(losses) == {'loss_pts', 'loss_img', 'mask_overlap'}
    for key in losses:
        torch.testing.assert_close(losses[key], ref[key])
    ablated.train()
    backward_reaches_every_parameter(ablated, ablated.loss(inputs, samples))


def test_no_shared_layers_meet_only_in_the_joint_decoder():
    torch.manual_seed(0)
    model = build_model(backbone=dict(shared_encoder=dict(num_layers=0)))
    assert model.backbone.cls_token is None
    assert 'backbone.cls_token' not in model.state_dict()
    inputs, samples = make_batch()
    losses = model.loss(inputs, samples)
    assert set(losses) == {'loss_pts', 'loss_img', 'loss_cross',
                           'mask_overlap'}
    backward_reaches_every_parameter(model, losses)
    model.eval()
    feats = model(inputs, mode='tensor')
    assert 'cls_feat' not in feats
    # the point latents do not depend on the images ...
    other = model(dict(inputs, imgs=inputs['imgs'].flip(-1)), mode='tensor')
    torch.testing.assert_close(other['pts_feats'], feats['pts_feats'])
    assert not torch.allclose(other['img_feats'], feats['img_feats'])
    # ... and the image latents are the image-specific encoder's output
    backbone = model.backbone
    tokens = backbone.img_tokenizer(inputs['imgs']) + \
        backbone.modality_img_embed
    for layer in backbone.img_encoder:
        tokens = layer(tokens)
    torch.testing.assert_close(feats['img_feats'], tokens)


@pytest.mark.parametrize('base, extra, message', [
    (IMAGE_ONLY, dict(pts_head=dict(type='PiMAEPointHead', in_channels=24,
                                    group_size=8)),
     r'has no points branch, so pts_head must be None'),
    (POINT_ONLY, dict(img_head=dict(type='PiMAEImageHead', patch_size=16)),
     r'has no images branch, so img_head must be None'),
    (POINT_ONLY, dict(cross_head=small_model_cfg()['cross_head']),
     r'cross_head needs both modalities'),
    (POINT_ONLY, dict(neck=dict(modalities=('points', 'images'))),
     r"neck.modalities=\('points', 'images'\) must equal "
     r"backbone.modalities=\('points',\)"),
    (POINT_ONLY, dict(backbone=dict(img_encoder=dict(num_layers=1))),
     r'has no images branch, so img_encoder must be None'),
    (IMAGE_ONLY, dict(backbone=dict(modalities=('images', 'points'))),
     r'has a points branch, so pts_tokenizer must be set'),
    (POINT_ONLY, dict(backbone=dict(masker=dict(
        image_mask_type='complement'))),
     r"image_mask_type='complement' aligns the image mask"),
    (dict(), dict(backbone=dict(modalities=('depth', ))),
     r'modalities must be a non-empty subset'),
])
def test_inconsistent_configs_are_rejected(base, extra, message):
    from mmdet3d.registry import MODELS
    cfg = small_model_cfg(**base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            for sub_key, sub_value in value.items():
                if isinstance(sub_value, dict) and isinstance(
                        cfg[key].get(sub_key), dict):
                    cfg[key][sub_key].update(sub_value)
                else:
                    cfg[key][sub_key] = sub_value
        else:
            cfg[key] = value
    with pytest.raises(ValueError, match=message):
        MODELS.build(cfg)
