"""Safe checkpoint reading and the key check (projects.pimae.pimae.utils)."""
import pytest
import torch
from torch import nn

from projects.pimae.pimae.utils.checkpoint import (CheckpointError,
                                                   check_checkpoint_keys,
                                                   get_state_dict,
                                                   load_checkpoint_file,
                                                   revise_keys)


class Payload:
    """Unpickling this object creates the file ``path`` (an attack's proof)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, 'w'))


def malicious_checkpoint(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'malicious.pth'
    torch.save({'state_dict': {'w': torch.zeros(1)}, 'x': Payload(marker)},
               path)
    return path, marker


def test_malicious_checkpoint_is_refused_even_when_forced(
        tmp_path, monkeypatch):
    path, marker = malicious_checkpoint(tmp_path)
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    with pytest.raises(CheckpointError) as info:
        load_checkpoint_file(path)
    assert not marker.exists()  # the payload did not run
    message = str(info.value)
    assert str(path) in message and 'it holds a io.open object' in message
    assert 'weights_only=False' not in message  # not torch's advice


def test_mmengine_loader_is_the_safe_one(tmp_path, monkeypatch):
    import projects.pimae.pimae  # noqa: F401  (registers the loader)
    from mmengine.runner.checkpoint import _load_checkpoint
    path, marker = malicious_checkpoint(tmp_path)
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    with pytest.raises(CheckpointError):
        _load_checkpoint(str(path), map_location='cpu')
    assert not marker.exists()
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}}, good)
    loaded = _load_checkpoint(str(good), map_location='cpu')
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))


@pytest.mark.parametrize('content', [b'', b'not a checkpoint at all', None])
def test_garbage_empty_and_truncated_files_name_the_file(tmp_path, content):
    path = tmp_path / 'bad.pth'
    if content is None:  # a real checkpoint cut in half
        torch.save({'state_dict': {'w': torch.zeros(1000)}}, path)
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint_file(path)
    assert str(path) in str(info.value)
    assert 'weights_only=False' not in str(info.value)


def test_missing_file():
    with pytest.raises(FileNotFoundError, match='nowhere.pth'):
        load_checkpoint_file('/nowhere.pth')


def test_state_dict_is_found_in_containers():
    weights = {'a': torch.zeros(1)}
    for container in ('state_dict', 'model', 'module'):
        assert get_state_dict({container: weights, 'meta': {}}) is weights
    assert get_state_dict(weights) is weights
    with pytest.raises(CheckpointError, match='x.pth holds no state dict'):
        get_state_dict({'meta': {'epoch': 1}}, 'x.pth')


def test_key_check_refuses_another_model_and_reports_keys():
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    other = nn.ModuleDict(dict(conv=nn.Conv2d(1, 1, 1)))
    with pytest.raises(CheckpointError) as info:
        check_checkpoint_keys(model, other.state_dict(), 'other.pth')
    message = str(info.value)
    assert '0 of 4 model tensors matched' in message
    assert 'missing in the checkpoint: 4' in message
    assert 'unexpected (not in the model): 2' in message


def test_key_check_counts_shapes_after_stripping_module_prefix():
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    state = {f'module.{k}': v for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointError, match='0 of 4'):  # not yet renamed
        check_checkpoint_keys(model, state)
    state = revise_keys(state)
    report = check_checkpoint_keys(model, state)
    assert len(report.matched) == 4 and not report.missing
    # half the tensors with a wrong shape: 2 of 4 = 0.5 is still accepted
    state['1.weight'] = torch.zeros(5, 5)
    state['1.bias'] = torch.zeros(5)
    report = check_checkpoint_keys(model, state)
    assert len(report.matched) == 2 and len(report.shape_mismatch) == 2
    with pytest.raises(CheckpointError, match='2 of 4'):
        check_checkpoint_keys(model, state, min_matched_fraction=0.75)
