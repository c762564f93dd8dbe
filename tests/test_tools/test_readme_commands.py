"""Every shell command in the READMEs runs as written on a fresh clone
(issue 14): those that need the real datasets, a checkpoint of a long run or
GPUs stop at once with a message naming what is missing.

The commands run in a copy of the repository's files (no ``data/``, no
``work_dirs/``), sharing this clone's virtualenv. Each README command must
have an entry in :data:`EXPECTED`, so a new command cannot go untested.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
READMES = ('README.md', 'projects/pimae/README.md')
MISSING_SUNRGBD = 'data/sunrgbd/sunrgbd_infos_train.pkl'

#: command as written -> (extra arguments the test appends to keep it short,
#: expected return code, texts the output must contain). A return code of 0
#: means the command did its job; 1 or 2 that it stopped with a message.
EXPECTED = {
    'tools/dist_train.sh configs/pimae/pretrain.py 8':
    ('', 1, [MISSING_SUNRGBD, 'data_preparation.md']),
    'tools/dist_train.sh configs/pimae/pretrain.py 8 --resume':
    ('', 1, [MISSING_SUNRGBD]),
    'python tools/train.py configs/pimae/pretrain.py --cfg-options '
    'train_dataloader.batch_size=32': ('', 1, [MISSING_SUNRGBD]),
    # the main job, shortened to 1 epoch of 8 of its 64 scenes (same data
    # generation, model and pictures), into another work dir
    'bash tools/demo.sh':
    (' --work-dir work_dirs/my_demo --allow-new-keys --cfg-options '
     'train_cfg.max_epochs=1 train_dataloader.dataset.indices=8', 0,
     ['PiMAE demo finished', 'work_dirs/my_demo/reconstructions/']),
    'tools/dist_train.sh configs/threedetr/threedetr_pimae_sunrgbd.py 8 '
    '--cfg-options model.init_cfg.checkpoint=work_dirs/'
    'pimae_8xb16-accum2-400e_sunrgbd/epoch_400.pth':
    ('', 1, [MISSING_SUNRGBD]),
    'tools/dist_test.sh configs/threedetr/threedetr_pimae_sunrgbd.py '
    'work_dirs/threedetr_pimae_sunrgbd/epoch_1080.pth 8':
    ('', 1, ['Checkpoint file not found: '
             'work_dirs/threedetr_pimae_sunrgbd/epoch_1080.pth']),
    'python tools/model_converters/pimae_to_mmpretrain_vit.py '
    'work_dirs/pimae_demo/epoch_10.pth work_dirs/pimae_vit/pimae_vit.pth':
    ('', 1, ['work_dirs/pimae_demo/epoch_10.pth']),
    'python tools/train.py configs/vit/vit-pimae_finetune_sunrgbd-crops.py':
    ('', 1, [MISSING_SUNRGBD]),
    'tools/dist_train.sh configs/votenet/votenet_pimae_8xb16_sunrgbd-3d.py 8 '
    '--cfg-options model.init_cfg.checkpoint=work_dirs/'
    'pimae_8xb16-accum2-400e_sunrgbd/epoch_400.pth':
    ('', 1, [MISSING_SUNRGBD]),
}
#: Commands not run here, and why.
NOT_RUN = {
    'bash tools/run_tests.sh': 'it is the command that runs this test',
    'python tools/analysis_tools/transfer_study.py --size default --seeds 3 '
    '--jobs 2':
    'about 1.5 h; test_transfer_study.py runs the quick size, interrupted '
    'and resumed',
}


def readme_commands():
    """Shell commands of the READMEs' code blocks, continuation lines
    joined and comments dropped."""
    commands = []
    for readme in READMES:
        text = (ROOT / readme).read_text()
        blocks = re.findall(r'```(?:shell|bash|sh)\n(.*?)```', text, re.S)
        blocks += [
            '\n'.join(line[4:] for line in block.splitlines())
            for block in re.findall(r'(?:^|\n\n)((?: {4}.*\n?)+)', text)
        ]
        for block in blocks:
            joined = re.sub(r'\\\n\s*', '', block)
            for line in joined.splitlines():
                line = line.split('#')[0].strip()
                if re.match(r'(tools/|python |bash )', line):
                    line = re.sub(r'\s+', ' ', line)
                    if line not in commands:
                        commands.append(line)
    return commands


def test_every_readme_command_is_covered():
    commands = readme_commands()
    assert 'bash tools/demo.sh' in commands  # the parser finds them
    unknown = [c for c in commands if c not in EXPECTED and c not in NOT_RUN]
    assert not unknown, f'README commands without a test entry: {unknown}'
    stale = [c for c in EXPECTED if c not in commands]
    assert not stale, f'entries for commands no README has: {stale}'


@pytest.fixture(scope='module')
def fresh_clone(tmp_path_factory):
    """The repository's files (as git sees them) in a new folder, with this
    clone's virtualenv linked in; no data, no work_dirs."""
    clone = tmp_path_factory.mktemp('clone')
    files = subprocess.run(
        ['git', 'ls-files', '--cached', '--others', '--exclude-standard'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True).stdout.split('\n')
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            target = clone / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    venv = Path(os.environ.get('PIMAE_VENV', ROOT / '.venv'))
    (clone / '.venv').symlink_to(venv.resolve())
    return clone


@pytest.mark.parametrize('command', list(EXPECTED))
def test_readme_command_runs_as_written(fresh_clone, command):
    extra, code, texts = EXPECTED[command]
    env = dict(os.environ, OMP_NUM_THREADS='1', PORT='29531')
    env.pop('PYTHON', None)
    venv_bin = str(Path(sys.executable).parent)
    path = [p for p in env['PATH'].split(':') if p != venv_bin]
    if command.startswith('python '):  # as after `source .venv/bin/activate`
        path.insert(0, venv_bin)
    # the shell scripts find the clone's virtualenv by themselves
    env['PATH'] = ':'.join(path)
    result = subprocess.run(
        command + extra,
        shell=True,
        cwd=fresh_clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=600)
    output = result.stdout + result.stderr
    if code == 0:
        assert result.returncode == 0, output[-3000:]
    else:
        assert result.returncode != 0, output[-3000:]
        assert 'Traceback' not in output, output[-3000:]
    for text in texts:
        assert text in output, output[-3000:]
    if command == 'bash tools/demo.sh':  # the pictures of that run
        pictures = list(
            (fresh_clone / 'work_dirs' / 'my_demo' /
             'reconstructions').glob('*.png'))
        assert len(pictures) == 4
        assert not (fresh_clone / 'work_dirs' / 'pimae_demo').exists()
