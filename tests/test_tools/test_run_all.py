"""tools/benchmarks/run_all.py: one run of every benchmark, tiny sizes, CPU.

The run's own JSON is the oracle of its table: every expected row is there,
each ratio is value / baseline of the same row, the rows that share a
measurement agree, and each row of the JSON is printed in the table. Wall
times are not asserted. The data rows' pipelines (derived from a config's
train_pipeline) and the data benchmark's --compare-tree are checked
separately.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / 'tools' / 'benchmarks'

EXPECTED_KEYS = {
    'point_ops.fps_scene', 'point_ops.fps_groups', 'point_ops.knn',
    'point_ops.chamfer', 'point_ops.chamfer_memory',
    'train_step.samples_per_s', 'train_step.peak_memory', 'train_step.gflops',
    'train_step.amp', 'train_step.gflops_bf16', 'matmul.bf16',
    'threedetr.samples_per_s', 'votenet.samples_per_s', 'pretrain.end_to_end'
}
#: Rows without a value on CPU: bf16 autocast is measured on CUDA only.
CUDA_ONLY = {'train_step.amp', 'train_step.gflops_bf16', 'matmul.bf16'}


@pytest.fixture(scope='module')
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp('run_all') / 'results.json'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    result = subprocess.run([
        sys.executable,
        str(BENCHMARKS / 'run_all.py'), '--device', 'cpu', '--size', 'tiny',
        '--out',
        str(out)
    ],
                            cwd=ROOT,
                            env=env,
                            capture_output=True,
                            text=True,
                            timeout=1800)
    assert result.returncode == 0, (result.stdout[-3000:] +
                                    result.stderr[-3000:])
    return json.loads(out.read_text()), result.stdout


def test_tiny_run_reports_every_row_with_its_ratio(tiny_run):
    report, stdout = tiny_run
    assert report['errors'] == {}
    assert report['device'] == 'cpu' and report['size'] == 'tiny'
    env = report['environment']
    assert env['torch'] and env['mmcv'] == '2.1.0' and env['gpu'] is None
    rows = {row['key']: row for row in report['rows']}
    assert len(rows) == len(report['rows']), 'row keys must be unique'
    data_keys = {k for k in rows if k.startswith('data.pipeline')}
    assert data_keys == {
        'data.pipeline:worker-fps', 'data.pipeline:device-fps',
        'data.pipeline:full-decode'
    }
    assert set(rows) - data_keys == EXPECTED_KEYS
    for key, row in rows.items():
        value, baseline = row['value'], row['baseline']
        if value is None or not baseline:
            assert row['ratio'] is None, key
        else:
            assert row['ratio'] == pytest.approx(value / baseline), key
        assert row['device'] == 'cpu' and row['better'] in ('higher', 'lower')
        if key in CUDA_ONLY:
            assert value is None and row['note'].startswith('skipped'), key
        elif key == 'point_ops.fps_scene' and not env['torch_quickfps']:
            assert value is None and baseline > 0
        else:
            assert value > 0 and baseline > 0, key
    # the fp32 figures that two rows share are one measurement
    assert rows['train_step.amp']['baseline'] == \
        rows['train_step.samples_per_s']['value']
    assert rows['matmul.bf16']['baseline'] == \
        rows['train_step.gflops']['baseline']
    # the table prints every row with the JSON's ratio
    lines = stdout.splitlines()
    start = [
        i for i, line in enumerate(lines)
        if line.startswith('| figure | value | baseline | ratio')
    ]
    assert len(start) == 1, 'one table header expected'
    table = lines[start[0]:start[0] + 2 + len(report['rows']) + 1]
    assert not table[-1].startswith('| '), 'more table lines than rows'
    for line, row in zip(table[2:-1], report['rows']):
        cells = [cell.strip() for cell in line.strip('|').split(' | ')]
        assert cells[0] == row['figure']
        ratio = 'n/a' if row['ratio'] is None else f'{row["ratio"]:.2f}'
        assert cells[3] == ratio
        assert cells[6] == f'{env["torch"]} / {env["cuda"]}'


def test_data_rows_follow_the_configs_train_pipeline(tmp_path):
    """The baseline and the variants are derived from ``--data-config``'s
    train_pipeline, so a user's pipeline is what gets measured."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import benchmark_data
    finally:
        sys.path.remove(str(BENCHMARKS))
    from mmengine.config import Config
    pipeline = Config.fromfile(
        str(ROOT / 'configs/_base_/datasets/sunrgbd_pretrain.py')
    ).to_dict()['train_pipeline']
    assert pipeline[3]['type'] == 'LoggedPointSample'
    pipeline[3] = dict(type='LoggedPointSample', num_points=8000)
    config = tmp_path / 'cfg.py'
    config.write_text(f'train_pipeline = {pipeline!r}\n')
    name, baseline, variants = benchmark_data.pipeline_variants(str(config))
    assert name == 'upstream-transforms'
    assert baseline[3] == dict(type='PointSample', num_points=8000)
    assert set(variants) == {'worker-fps', 'device-fps', 'full-decode'}
    assert variants['worker-fps'][3]['num_points'] == 8000
    assert 'FurthestPointSample' not in [
        t['type'] for t in variants['device-fps']
    ]


def test_compare_tree_times_the_other_checkouts_pipeline(tmp_path):
    """--compare-tree runs another checkout's pipeline in a child process,
    pass by pass with the variants here (this checkout stands in for the
    other one), and names a folder that is not a checkout."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import benchmark_data
    finally:
        sys.path.remove(str(BENCHMARKS))
    from projects.pimae.pimae import data_generation
    root = tmp_path / 'sunrgbd'
    data_generation.generate_dataset(
        str(root), 3, seed=0, val_ratio=0.34,
        cfg=data_generation.SceneConfig(width=96, height=72))
    results = benchmark_data.measure_pipelines(
        str(root), 2, compare_tree=str(ROOT))
    assert set(results) == {
        'baseline', 'tree', 'worker-fps', 'device-fps', 'full-decode'
    }
    tree = results['tree']
    assert tree['name'] == f'train_pipeline of {ROOT}'
    assert tree['num_samples'] == results['worker-fps']['num_samples'] == 2
    assert all(r['samples_per_s'] > 0 for r in results.values())
    with pytest.raises(FileNotFoundError, match='a checkout of this project'):
        benchmark_data.TreePipeline(
            str(tmp_path), 'configs/_base_/datasets/sunrgbd_pretrain.py',
            str(root))
