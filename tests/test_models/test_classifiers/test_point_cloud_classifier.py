"""PointCloudClassifier as the linear probe: a training step with the
probe config's optimiser moves only the neck statistics and the head."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample

from ._probe_helpers import (build_probe, random_clouds, randomised_pimae,
                             save_checkpoint)
from .test_pimae_point_transformer import manual_point_tokens

ROOT = Path(__file__).resolve().parents[3]
PROBE_CONFIG = ROOT / 'configs' / 'point_probe' / \
    'pimae-point_linear-probe_sunrgbd-objects.py'


def batch(labels=(0, 1, 2, 3), num_points=64, seed=0):
    clouds = random_clouds(len(labels), num_points, seed)
    samples = []
    for index, label in enumerate(labels):
        sample = DataSample().set_gt_label(label)
        sample.set_metainfo(
            dict(sample_idx=index, lidar_path=f'points/{index:06d}.bin'))
        samples.append(sample)
    return dict(inputs=list(clouds), data_samples=samples)


def test_training_step_leaves_the_frozen_encoder_untouched(tmp_path):
    pimae = randomised_pimae()
    probe = build_probe(save_checkpoint(pimae, tmp_path / 'pimae.pth'))
    cfg = Config.fromfile(str(PROBE_CONFIG))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        optim_wrapper = build_optim_wrapper(probe, cfg.optim_wrapper)
    before = {k: v.clone() for k, v in probe.state_dict().items()}
    probe.train()
    data = batch()
    losses = probe.train_step(data, optim_wrapper)
    assert torch.isfinite(losses['loss'])
    state = probe.state_dict()
    for key, value in before.items():
        if key.startswith('backbone.'):  # weights and BN statistics
            torch.testing.assert_close(state[key], value, rtol=0, atol=0)
    assert all(p.grad is None for p in probe.backbone.parameters())
    assert not torch.equal(state['head.fc.weight'], before['head.fc.weight'])
    # the neck's BatchNorm (no affine) updated its statistics only
    assert not torch.equal(state['neck.bn.running_mean'],
                           before['neck.bn.running_mean'])
    assert {k for k in state if k.startswith('neck.')} == {
        'neck.bn.running_mean', 'neck.bn.running_var',
        'neck.bn.num_batches_tracked'
    }
    # SGD momentum exists exactly for the two head tensors
    buffers = [s['momentum_buffer'] for s in
               optim_wrapper.optimizer.state.values()]
    assert sorted(tuple(b.shape) for b in buffers) == [(5, ), (5, 64)]
    # the features after the step are still PiMAE's
    points = torch.stack(data['inputs'])
    with torch.no_grad():
        tokens = manual_point_tokens(pimae, points, True)
    torch.testing.assert_close(
        probe.extract_feat(points, stage='backbone')[0],
        torch.cat([tokens.max(dim=1)[0], tokens.mean(dim=1)], -1))


def test_predict_gives_scores_of_every_class(tmp_path):
    probe = build_probe().eval()
    data = probe.data_preprocessor(batch(labels=(4, 0)), False)
    results = probe(**data, mode='predict')
    assert len(results) == 2
    for result in results:
        assert result.pred_score.shape == (5, )
        torch.testing.assert_close(result.pred_score.sum(), torch.tensor(1.))
        assert int(result.pred_label) == int(result.pred_score.argmax())
    assert int(results[0].gt_label) == 4


def test_data_preprocessor_stacks_and_names_bad_samples():
    probe = build_probe()
    data = batch()
    out = probe.data_preprocessor(data, True)
    torch.testing.assert_close(out['inputs'], torch.stack(data['inputs']))
    assert [int(s.gt_label) for s in out['data_samples']] == [0, 1, 2, 3]
    # a stacked tensor is accepted as it is
    stacked = probe.data_preprocessor(
        dict(inputs=torch.stack(data['inputs']), data_samples=None), False)
    torch.testing.assert_close(stacked['inputs'], out['inputs'])

    short = batch()
    short['inputs'][2] = short['inputs'][2][:50]
    with pytest.raises(ValueError,
                       match=r'sample 2 \(points: points/000002.bin\) has '
                       r'50 points, sample 0 64'):
        probe.data_preprocessor(short, True)
    colour = batch()
    colour['inputs'][1] = torch.zeros(64, 6)
    with pytest.raises(ValueError, match=r'sample 1 .*\(N, 3\) tensor'):
        probe.data_preprocessor(colour, True)
    nan = batch()
    nan['inputs'][3][5, 1] = float('nan')
    with pytest.raises(ValueError, match=r'sample 3 .*NaN or Inf'):
        probe.data_preprocessor(nan, True)
