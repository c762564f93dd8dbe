"""Tests of the transfer study (tools/analysis_tools/transfer_study.py) and
its report helpers."""
import json
import math
import os
import os.path as osp
import signal
import statistics
import subprocess
import sys
import time

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))
import study_report  # noqa: E402
import transfer_study  # noqa: E402

STUDY = osp.join(ROOT, 'tools', 'analysis_tools', 'transfer_study.py')


def test_mean_std_is_the_sample_std():
    values = [61.5, 58.0, 64.25, 60.0]
    mean, std = study_report.mean_std(values)
    assert mean == pytest.approx(statistics.mean(values))
    assert std == pytest.approx(statistics.stdev(values))
    assert study_report.mean_std([3.0]) == (3.0, 0.)
    with pytest.raises(ValueError):
        study_report.mean_std([])


def test_aggregate_table_and_chart(tmp_path):
    cells = [
        dict(variant='random-init', seed=0, point_knn=20., image_linear=10.),
        dict(variant='random-init', seed=1, point_knn=24., image_linear=14.),
        dict(variant='point-only', seed=0, point_knn=40.),
        dict(variant='point-only', seed=1, point_knn=44.),
    ]
    metrics = ('point_knn', 'image_linear')
    table = study_report.aggregate(cells, ['random-init', 'point-only'],
                                   metrics)
    assert table['random-init']['point_knn']['mean'] == 22.
    assert table['random-init']['point_knn']['std'] == pytest.approx(
        math.sqrt(8.))
    assert table['point-only']['point_knn']['values'] == [40., 44.]
    assert 'image_linear' not in table['point-only']
    text = study_report.markdown_table(table, metrics)
    assert '| random-init | 22.00 ± 2.83 (2) | 12.00 ± 2.83 (2) |' in text
    assert '| point-only | 42.00 ± 2.83 (2) | n/a |' in text
    png = tmp_path / 'chart.png'
    study_report.bar_chart(table, metrics, str(png))
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_json_writes_are_whole(tmp_path):
    path = str(tmp_path / 'cells' / 'a.json')
    study_report.write_json_atomic(path, dict(a=1))
    assert study_report.read_json(path) == dict(a=1)
    assert os.listdir(tmp_path / 'cells') == ['a.json']  # no temp left
    assert study_report.read_cells(str(tmp_path / 'cells')) == [dict(a=1)]


def test_map_leaves_out_classes_without_ground_truth():
    metrics = {
        'bed_AP_0.25': 0.5,
        'chair_AP_0.25': float('nan'),  # predicted, not in the split
        'sofa_AP_0.25': 0.0,
        'mAP_0.25': float('nan'),
        'bed_AP_0.50': 0.25,
    }
    assert transfer_study.map_over_present_classes(metrics) == 0.25
    with pytest.raises(KeyError, match='AP_0.25'):
        transfer_study.map_over_present_classes({'mAP_0.25': 0.1})


def test_schedules_fit_the_study_epochs():
    from mmengine.config import Config
    cfg = Config(
        dict(param_scheduler=[
            dict(type='LinearLR', by_epoch=True, begin=0, end=15),
            dict(
                type='CosineAnnealingLR',
                by_epoch=True,
                T_max=385,
                begin=15,
                end=400)
        ]))
    transfer_study.follow_epochs(cfg, 10)
    warmup, cosine = cfg.param_scheduler
    assert (warmup.begin, warmup.end) == (0, 2)
    assert (cosine.begin, cosine.end, cosine.T_max) == (2, 10, 8)


def _row(mean, std, n=3):
    return dict(mean=mean, std=std, n=n, values=[])


def test_checks_compare_gaps_with_the_seed_std():
    table = {
        'random-init': dict(point_linear=_row(30., 2.)),
        'mask-random': dict(point_linear=_row(36., 1.)),
        'mask-uniform': dict(point_linear=_row(37., 1.)),
        'mask-complement': dict(point_linear=_row(33., 1.)),
    }
    lines = transfer_study.checks(table)
    assert any('mask-random' in line and ': holds' in line for line in lines)
    assert any('mask-complement beats' in line and 'does not hold' in line
               for line in lines)  # gap 3 < 2 x 2
    assert any('mask-uniform > mask-random > mask-complement' in line
               and 'complement best: does not hold' in line
               for line in lines)
    assert all('point_linear' in line for line in lines)  # no k-NN rows
    one_seed = {k: {m: _row(r['mean'], 0., n=1) for m, r in v.items()}
                for k, v in table.items()}
    assert all('one seed only' in line
               for line in transfer_study.checks(one_seed)[:2])


def _study(work_dir):
    return [
        sys.executable, STUDY, '--size', 'quick', '--seeds', '1',
        '--variants', 'random-init', 'point-only', '--steps', 'point_knn',
        'image_linear', '--work-dir', work_dir
    ]


def test_quick_study_writes_every_cell_and_resumes(tmp_path):
    """Stopped after its first cell, the study resumes without recomputing
    it and writes the table with every cell."""
    work_dir = str(tmp_path / 'study')
    first_cell = osp.join(work_dir, 'cells', 'random-init_seed0.json')
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.Popen(
        _study(work_dir),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        while not osp.isfile(first_cell) and proc.poll() is None:
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # interrupted, mid-study
        proc.wait()
    assert osp.isfile(first_cell), 'the study ended before its first cell'
    assert not osp.isfile(osp.join(work_dir, 'results.json'))
    written = os.stat(first_cell).st_mtime_ns

    # resumed with the remaining cell in a worker process (--jobs)
    out = subprocess.run(
        _study(work_dir) + ['--jobs', '2'],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert '[2/2] point-only, seed 0: done' in out.stdout
    assert 'point-only/0 point_knn:' in out.stdout  # tagged progress
    assert '[1/2] random-init, seed 0' in out.stdout
    first = out.stdout.split('[2/2]')[0]
    assert 'finished earlier, read back' in first
    assert os.stat(first_cell).st_mtime_ns == written  # not recomputed
    results = json.load(open(osp.join(work_dir, 'results.json')))
    cells = {(c['variant'], c['seed']): c for c in results['cells']}
    assert set(cells) == {('random-init', 0), ('point-only', 0)}
    for cell in cells.values():
        assert 0. <= cell['point_knn'] <= 100.
        assert 'point_linear' not in cell and 'det_map25' not in cell
    assert 0. <= cells[('random-init', 0)]['image_linear'] <= 100.
    assert 'image_linear' not in cells[('point-only', 0)]  # no image branch
    # the point-only cell was pre-trained, the random-init one was not
    assert osp.isfile(osp.join(work_dir, 'cells', 'point-only_seed0',
                               'pretrain', 'epoch_1.pth'))
    assert not osp.isdir(osp.join(work_dir, 'cells', 'random-init_seed0',
                                  'pretrain'))
    table = open(osp.join(work_dir, 'results.md')).read()
    assert '| random-init |' in table and '| point-only |' in table
    assert 'image linear probe' in table and 'n/a |' in table
    assert '3DETR' not in table  # not requested
    assert osp.getsize(osp.join(work_dir, 'results.png')) > 0


def test_parallel_cells_report_failures_by_name(tmp_path, capsys):
    # no scenes where the cells look: each fails in its own process, the
    # others still run, and every failure is named
    args = transfer_study.parse_args([
        '--size', 'quick', '--variants', 'random-init', '--seeds', '2',
        '--steps', 'point_knn', '--jobs', '2', '--work-dir',
        str(tmp_path), '--data-root',
        str(tmp_path / 'no_scenes')
    ])
    cells = {}
    failed = transfer_study.run_cells_in_parallel(
        args, [(1, 'random-init', 0), (2, 'random-init', 1)], 2, cells,
        time.perf_counter())
    assert cells == {}
    assert sorted(f.split(':')[0] for f in failed) == [
        'random-init seed 0', 'random-init seed 1']
    assert all('no_scenes' in f for f in failed), failed
    assert 'random-init, seed 1: FAILED' in capsys.readouterr().out


def _children(pid):
    found = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                stat = open(f'/proc/{entry}/stat').read()
            except OSError:
                continue
            if int(stat.rsplit(')', 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _alive(pid):
    try:
        state = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[0]
    except OSError:
        return False
    return state != 'Z'


@pytest.mark.skipif(not osp.isdir('/proc'), reason='reads /proc')
def test_cell_processes_end_with_the_study(tmp_path):
    """Killing the study (not its process group) ends its cell processes
    too, instead of leaving them to run cells nobody collects."""
    proc = subprocess.Popen(
        _study(str(tmp_path / 'study')) + ['--jobs', '2'],
        cwd=ROOT,
        env=dict(os.environ, OMP_NUM_THREADS='1'),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True)
    workers = []
    try:
        for line in proc.stdout:  # the cells are handed to the workers
            if 'queued' in line and '[2/2]' in line:
                break
        deadline = time.time() + 60
        while time.time() < deadline and len(workers) < 2:
            workers = [p for p in _children(proc.pid) if _is_cell_process(p)]
            time.sleep(0.2)
        assert len(workers) == 2, 'the study started no cell processes'
        proc.kill()
        proc.wait()
        deadline = time.time() + 30
        while time.time() < deadline and any(map(_alive, workers)):
            time.sleep(0.2)
        assert not any(map(_alive, workers)), 'cell processes outlived it'
    finally:
        proc.kill()
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _is_cell_process(pid):
    try:
        return b'spawn_main' in open(f'/proc/{pid}/cmdline', 'rb').read()
    except OSError:
        return False


def test_report_is_rebuilt_from_finished_cells(tmp_path, capsys):
    for seed, value in enumerate((50., 54.)):
        study_report.write_json_atomic(
            str(tmp_path / 'cells' / f'point-only_seed{seed}.json'),
            dict(variant='point-only', seed=seed, point_knn=value))
    assert study_report.main([str(tmp_path)]) == 0
    text = (tmp_path / 'results.md').read_text()
    assert '| point-only | 52.00 ± 2.83 (2) |' in text
    assert 'image' not in text  # only the metrics the cells have
    assert (tmp_path / 'results.png').stat().st_size > 0
    assert study_report.main([str(tmp_path / 'nothing')]) == 1
    assert 'no finished cells' in capsys.readouterr().err


def test_resuming_at_another_size_is_refused(tmp_path, capsys):
    args = transfer_study.parse_args(
        ['--size', 'quick', '--work-dir', str(tmp_path)])
    study = transfer_study.Study(args)
    transfer_study.check_same_size(study)  # first run: records the size
    transfer_study.check_same_size(study)  # same size: fine
    assert study_report.read_cells(study.cell_dir) == []  # not a cell
    other = transfer_study.Study(
        transfer_study.parse_args(
            ['--size', 'default', '--work-dir', str(tmp_path)]))
    with pytest.raises(SystemExit, match='another study size'):
        transfer_study.check_same_size(other)
