"""tools/setup_env.sh: a prebuilt mmcv wheel by path, directory or
environment variable, checked in the script's dry-run mode (nothing is
installed: the venv does not exist, so every install step is printed)."""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'tools' / 'setup_env.sh'
WHEEL = 'mmcv-2.1.0-cp311-cp311-linux_x86_64.whl'


def setup_env(tmp_path, *args, **env):
    environ = dict(
        os.environ,
        PIMAE_VENV=str(tmp_path / 'venv'),
        PIMAE_CACHE_DIR=str(tmp_path / 'cache'),
        PIMAE_SETUP_DRY_RUN='1')
    environ.pop('PIMAE_MMCV_WHEEL', None)
    environ.update(env)
    return subprocess.run(['bash', str(SCRIPT), *args],
                          env=environ,
                          capture_output=True,
                          text=True,
                          timeout=60)


def commands(result):
    return [line[2:] for line in result.stdout.splitlines()
            if line.startswith('+ ')]


@pytest.fixture
def wheels(tmp_path):
    folder = tmp_path / 'wheels'
    folder.mkdir()
    (folder / WHEEL).write_bytes(b'not really a wheel')
    return folder


def test_wheel_file_is_installed_instead_of_building(tmp_path, wheels):
    result = setup_env(tmp_path, '--mmcv-wheel', str(wheels / WHEEL))
    assert result.returncode == 0, result.stderr
    cmds = commands(result)
    install = [c for c in cmds if '--force-reinstall' in c]
    assert len(install) == 1 and install[0].endswith(str(wheels / WHEEL))
    assert not any(' wheel ' in c and 'mmcv==' in c for c in cmds)  # no build
    assert not (tmp_path / 'venv').exists()  # dry run: nothing created
    requirements = [c for c in cmds if '-r ' in c]
    assert f'--find-links {wheels}' in requirements[0]


@pytest.mark.parametrize('how', ['option', 'env'])
def test_wheel_directory_lets_pip_pick_the_mmcv_wheel(tmp_path, wheels, how):
    if how == 'option':
        result = setup_env(tmp_path, f'--mmcv-wheel={wheels}')
    else:
        result = setup_env(tmp_path, PIMAE_MMCV_WHEEL=str(wheels))
    assert result.returncode == 0, result.stderr
    install = [c for c in commands(result) if '--force-reinstall' in c]
    assert install[0].endswith(
        f'--no-index --find-links {wheels} mmcv==2.1.0')


def test_without_a_wheel_mmcv_is_built_into_the_cache(tmp_path):
    result = setup_env(tmp_path)
    assert result.returncode == 0, result.stderr
    build = [c for c in commands(result) if ' wheel --no-build-isolation' in c]
    assert len(build) == 1 and 'MMCV_WITH_OPS=1' in build[0]
    assert not any('--force-reinstall' in c for c in commands(result))


@pytest.mark.parametrize('make, message', [
    (lambda d: d / 'absent.whl', 'does not exist'),
    (lambda d: d / 'mmcv-2.2.0-py3-none-any.whl', 'is not an mmcv-2.1.0'),
    (lambda d: d, 'holds no mmcv-2.1.0-*.whl'),
])
def test_bad_wheel_paths_are_named(tmp_path, make, message):
    path = make(tmp_path)
    if path.suffix == '.whl' and 'absent' not in path.name:
        path.write_bytes(b'')
    result = setup_env(tmp_path, '--mmcv-wheel', str(path))
    assert result.returncode == 2
    assert message in result.stderr and str(path) in result.stderr
    assert commands(result) == []


def test_help_and_unknown_arguments(tmp_path):
    result = setup_env(tmp_path, '--help')
    assert result.returncode == 0 and '--mmcv-wheel PATH' in result.stdout
    result = setup_env(tmp_path, '--mmcv')
    assert result.returncode == 2 and "unknown argument '--mmcv'" in \
        result.stderr
