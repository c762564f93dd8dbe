"""Every shipped config loads (``mmdet3d::`` / ``mmpretrain::`` inheritance
included) and its model builds in the config's own scope."""
from pathlib import Path

import pytest
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted(
    p for p in (ROOT / 'configs').rglob('*.py') if '_base_' not in p.parts)


def test_there_are_configs_of_each_family():
    families = {p.parent.name for p in CONFIGS}
    assert {'pimae', 'threedetr', 'vit', 'votenet', 'groupfree3d'} <= families


@pytest.mark.parametrize(
    'path', CONFIGS, ids=lambda p: f'{p.parent.name}/{p.stem}')
def test_config_loads_and_its_model_builds(path):
    from mmengine.registry import MODELS, DefaultScope
    from mmengine.utils import import_modules_from_strings
    cfg = Config.fromfile(str(path))
    assert cfg.get('default_scope') in ('mmdet3d', 'mmpretrain'), path
    custom_imports = cfg.get('custom_imports')
    assert custom_imports is not None, f'{path} imports no project module'
    import_modules_from_strings(**custom_imports)
    model_cfg = cfg.model.copy()
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(model_cfg)
    assert sum(p.numel() for p in model.parameters()) > 0
    if 'votenet' in path.parts or 'groupfree3d' in path.parts:
        is_pimae = 'pimae' in path.stem
        backbone = type(model.backbone).__name__
        assert backbone == ('PiMAEPointBackbone'
                            if is_pimae else 'PointNet2SASSG'), path
        pimae_init = (cfg.model.get('init_cfg') or {}).get('type')
        assert (pimae_init == 'PiMAEPretrained') == (is_pimae
                                                     and 'pimae-backbone'
                                                     not in path.stem), path
