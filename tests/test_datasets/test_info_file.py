"""Info files: no code runs, and broken files name themselves."""
import pickle

import numpy as np
import pytest

from projects.pimae.pimae.datasets import InfoFileError, load_info_file
from tests.data import MMDET3D_SAMPLES


class Payload:
    """Unpickling this object creates the file ``path``."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, 'w'))


def write(path, obj):
    path.write_bytes(pickle.dumps(obj))
    return path


def test_real_info_files_load():
    for name in ('sunrgbd/sunrgbd_infos.pkl', 'scannet/scannet_infos.pkl'):
        path = MMDET3D_SAMPLES / name
        with open(path, 'rb') as f:
            expected = pickle.load(f)  # trusted: vendored from mmdet3d
        info = load_info_file(path)
        assert info.keys() == expected.keys()
        assert len(info['data_list']) == len(expected['data_list'])
        first, ref = info['data_list'][0], expected['data_list'][0]
        assert first.keys() == ref.keys()


@pytest.mark.parametrize('protocol', [2, pickle.HIGHEST_PROTOCOL])
def test_numpy_arrays_scalars_and_containers_are_admitted(tmp_path, protocol):
    obj = dict(
        metainfo=dict(version=np.int64(3), names={'a', 'b'}),
        data_list=[
            dict(
                m=np.arange(6, dtype=np.float32).reshape(2, 3),
                s=np.float64(0.5),
                t=(1, 2.5, None, True, b'x'))
        ])
    path = tmp_path / 'ok.pkl'
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    info = load_info_file(path)
    np.testing.assert_array_equal(info['data_list'][0]['m'],
                                  obj['data_list'][0]['m'])
    assert info['data_list'][0]['s'] == 0.5
    assert info['metainfo']['names'] == {'a', 'b'}


def test_malicious_info_file_runs_no_code(tmp_path):
    marker = tmp_path / 'pwned'
    path = write(tmp_path / 'evil.pkl',
                 dict(metainfo={}, data_list=[Payload(marker)]))
    with pytest.raises(InfoFileError) as info:
        load_info_file(path)
    assert not marker.exists()
    assert str(path) in str(info.value)
    assert 'io.open' in str(info.value)


@pytest.mark.parametrize('content,what', [
    (b'', 'empty'),
    (b'hello, I am a text file', 'not a'),
    (None, 'truncated'),
])
def test_broken_files_name_the_file(tmp_path, content, what):
    path = tmp_path / 'broken.pkl'
    if content is None:
        data = pickle.dumps(dict(metainfo={}, data_list=list(range(100))))
        content = data[:len(data) // 2]
    path.write_bytes(content)
    with pytest.raises(InfoFileError) as info:
        load_info_file(path)
    assert str(path) in str(info.value) and what in str(info.value)


def test_wrong_layout_and_missing_file(tmp_path):
    with pytest.raises(InfoFileError, match='not in the mmdet3d v1.x layout'):
        load_info_file(write(tmp_path / 'old.pkl', [dict(a=1)]))
    with pytest.raises(FileNotFoundError, match='absent.pkl'):
        load_info_file(tmp_path / 'absent.pkl')
