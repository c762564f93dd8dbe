"""The 3DETR configs keep the checkpoint of the best validation AP@0.25, as
3DETR and PiMAE report it, keyed on the name IndoorMetric gives it."""
import copy
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import BaseMetric
from mmengine.registry import DefaultScope

from mmdet3d.registry import METRICS

ROOT = Path(__file__).resolve().parents[2]
FULL_CONFIGS = sorted((ROOT / 'configs' / 'threedetr').glob('*1080e*.py'))
TOY_CONFIG = ROOT / 'tests' / 'data' / 'configs' / 'toy_regression.py'


@METRICS.register_module(force=True)
class ScriptedAPMetric(BaseMetric):
    """Reports the next value of ``values`` under ``key`` at each
    evaluation."""

    def __init__(self, key, values, **kwargs):
        super().__init__(**kwargs)
        self.key, self.values = key, list(values)

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        return {self.key: self.values.pop(0)}


@pytest.mark.parametrize('path', FULL_CONFIGS, ids=lambda p: p.stem)
def test_configs_select_on_indoor_metric_ap_025(path):
    cfg = Config.fromfile(str(path))
    checkpoint = cfg.default_hooks.checkpoint
    assert checkpoint.save_best == 'mAP_0.25'
    assert checkpoint.rule == 'greater'
    assert cfg.val_evaluator.type == 'IndoorMetric'
    # 3DETR's evaluation schedule: from epoch 800 every 25 (and the last)
    assert cfg.train_cfg.val_begin == 800
    assert cfg.train_cfg.val_interval == 25
    assert cfg.train_cfg.max_epochs == 1080


def test_indoor_metric_reports_that_key():
    import projects.pimae.pimae  # noqa: F401
    from mmdet3d.evaluation.metrics import IndoorMetric
    from mmdet3d.structures import DepthInstance3DBoxes
    boxes = DepthInstance3DBoxes(torch.tensor([[0., 2., 0., 1., 1., 1., 0.]]))
    metric = IndoorMetric()
    metric.dataset_meta = dict(classes=('bed', 'table'))
    metric.process({}, [
        dict(
            pred_instances_3d=dict(
                bboxes_3d=boxes,
                scores_3d=torch.tensor([0.9]),
                labels_3d=torch.tensor([0])),
            eval_ann_info=dict(
                gt_bboxes_3d=boxes, gt_labels_3d=torch.tensor([0]).numpy()))
    ])
    results = metric.compute_metrics(metric.results)
    assert results['mAP_0.25'] == pytest.approx(1.0)


def test_best_epoch_is_saved_in_a_tiny_run(tmp_path):
    """Toy training with the 3DETR config's checkpoint hook and runtime
    hooks: the metric peaks at epoch 2 of 4, and best_mAP_0.25_epoch_2.pth
    is what is kept as the best."""
    from mmengine.runner import Runner
    full = Config.fromfile(str(FULL_CONFIGS[0]))
    cfg = Config.fromfile(str(TOY_CONFIG))
    cfg.work_dir = str(tmp_path)
    cfg.default_hooks.checkpoint = copy.deepcopy(full.default_hooks.checkpoint)
    cfg.default_hooks.checkpoint.interval = 1
    cfg.custom_hooks = copy.deepcopy(full.custom_hooks)
    cfg.train_cfg = dict(
        type='EpochBasedTrainLoop', max_epochs=4, val_begin=1, val_interval=1)
    cfg.val_dataloader = copy.deepcopy(cfg.test_dataloader)
    cfg.val_cfg = dict(type='ValLoop')
    cfg.val_evaluator = dict(
        type='ScriptedAPMetric',
        key='mAP_0.25',
        values=[0.20, 0.61, 0.40, 0.55])
    cfg.visualizer = dict(type='Visualizer', vis_backends=[])
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        runner = Runner.from_cfg(cfg)
        runner.train()
    best = sorted(p.name for p in tmp_path.glob('best_*.pth'))
    assert best == ['best_mAP_0.25_epoch_2.pth']
    checkpoint = torch.load(
        tmp_path / best[0], map_location='cpu', weights_only=True)
    assert checkpoint['meta']['epoch'] == 2
    assert (tmp_path / 'epoch_4.pth').is_file()  # the last one is kept too
    assert runner.message_hub.get_info('best_score') == pytest.approx(0.61)
