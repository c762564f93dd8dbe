"""SUN RGB-D's 10 classes are spelled once in the configs and once in the
code, and both are mmdet3d's (the label order of its info files)."""
import re
from pathlib import Path

from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[2]
#: the start of a spelled-out SUN RGB-D class tuple
TUPLE_START = re.compile(r"\(\s*'bed',\s*'table',")


def test_the_project_tuple_is_mmdet3ds():
    from mmdet3d.datasets import SUNRGBDDataset

    from projects.pimae.pimae.data_generation.scene_layout import CLASSES
    from projects.pimae.pimae.datasets import SUNRGBDObjectCropDataset
    from projects.pimae.pimae.datasets.sunrgbd_classes import \
        SUNRGBD_CLASSES
    assert SUNRGBD_CLASSES == SUNRGBDDataset.METAINFO['classes']
    assert len(SUNRGBD_CLASSES) == 10
    # the generator labels its objects with the same tuple
    assert CLASSES is SUNRGBD_CLASSES
    assert SUNRGBDObjectCropDataset.METAINFO['classes'] is SUNRGBD_CLASSES


def test_every_sunrgbd_config_uses_the_same_classes():
    from mmdet3d.datasets import SUNRGBDDataset
    expected = SUNRGBDDataset.METAINFO['classes']
    checked = 0
    for path in sorted((ROOT / 'configs').rglob('*.py')):
        if '_base_' in path.parts or 'sunrgbd' not in path.stem:
            continue
        cfg = Config.fromfile(str(path), import_custom_modules=False)
        dataset = cfg.train_dataloader.dataset
        while 'dataset' in dataset:  # wrappers such as RepeatDataset
            dataset = dataset.dataset
        classes = (dataset.get('metainfo') or {}).get('classes')
        if classes is not None:
            assert tuple(classes) == expected, path
            checked += 1
    assert checked >= 5


def test_the_tuple_is_written_once_in_configs_and_once_in_code():
    def spelled_in(paths):
        return sorted(
            str(p.relative_to(ROOT)) for p in paths
            if TUPLE_START.search(p.read_text()))

    assert spelled_in((ROOT / 'configs').rglob('*.py')) == [
        'configs/_base_/datasets/sunrgbd_classes.py'
    ]
    assert spelled_in((ROOT / 'projects' / 'pimae').rglob('*.py')) == [
        'projects/pimae/pimae/datasets/sunrgbd_classes.py'
    ]
