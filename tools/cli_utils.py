"""Command-line helpers of the tools that load nothing heavy.

``tools/train.py``, ``tools/test.py`` and the other tools parse their
arguments, read the config (without its ``custom_imports``), check the
``--cfg-options`` and the data files with these helpers, and only then
import ``torch``, mmdet3d and the project: ``--help`` answers at once and a
missing dataset or a typo stops the tool in a second, not after a model was
built.
"""
import argparse
import difflib
import os
import sys
from typing import Any, Dict, List, Sequence

Config = Any  # mmengine.config.Config, not imported here (kept light)

#: What to do when a dataset's annotation file is missing.
DATA_HELP = ('prepare SUN RGB-D / ScanNet as described in '
             'projects/pimae/docs/data_preparation.md, or generate scenes '
             'with tools/create_demo_data.py and set the data_root '
             '(--cfg-options train_dataloader.dataset.data_root=...)')


class ConfigOptions(argparse.Action):
    """MMEngine's ``DictAction``, imported only when the option is used, so
    that ``--help`` answers without loading the deep-learning stack."""

    def __call__(self, parser, namespace, values, option_string=None):
        from mmengine.config import DictAction
        DictAction(self.option_strings, self.dest)(parser, namespace, values,
                                                   option_string)


class ConfigOptionError(KeyError):
    """A ``--cfg-options`` key that does not exist in the config."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def _children(node: Any) -> List[str]:
    if isinstance(node, dict):
        return [str(k) for k in node.keys()]
    if isinstance(node, (list, tuple)):
        return [str(i) for i in range(len(node))]
    return []


def _check_type(key: str, old: Any, new: Any) -> None:
    """Refuse a value whose type cannot replace the config's value.

    A number must stay a number and a bool a bool (``lr=abc`` would
    otherwise fail deep inside MMEngine, or, for a bool, be truthy).
    ``None`` is accepted anywhere (it switches an option off).
    """
    if new is None:
        return
    if isinstance(old, bool):
        ok, expected = isinstance(new, bool), 'a bool (True / False)'
    elif isinstance(old, (int, float)):
        ok = isinstance(new, (int, float)) and not isinstance(new, bool)
        expected = f'a number (like {old!r})'
    else:
        return
    if not ok:
        raise ConfigOptionError(
            f"--cfg-options key '{key}' expects {expected}, got {new!r} "
            f'({type(new).__name__})')


def check_cfg_options(cfg: Config, options: Dict[str, Any]) -> None:
    """Check that every ``--cfg-options`` key names an existing entry, and
    that a value replacing a number or a bool has that type.

    MMEngine merges unknown keys silently, so a typo such as
    ``train_dataloader.batchsize=4`` would be ignored and surface much later,
    if at all. A key may add a new leaf only where its parent is a dict whose
    ``type`` is being replaced by the same options (a new component with new
    arguments) or whose value is being replaced wholesale.

    Args:
        cfg (Config): The loaded config.
        options (dict): Parsed ``--cfg-options`` (dotted keys to values).

    Raises:
        ConfigOptionError: Naming the first unknown key, the part of it that
            exists, and the closest existing names; or a key whose value has
            the wrong type, with the expected type.
    """
    replaced = {
        key[:-len('.type')]
        for key in options if key.endswith('.type')
    }
    replaced |= {
        key
        for key, value in options.items() if isinstance(value, dict)
    }
    for full_key in options:
        node: Any = cfg._cfg_dict
        parts = full_key.split('.')
        for depth, part in enumerate(parts):
            prefix = '.'.join(parts[:depth])
            if prefix in replaced:
                break
            names = _children(node)
            if part not in names:
                where = f"'{prefix}'" if prefix else 'the config'
                close = difflib.get_close_matches(part, names, n=3)
                hint = f" Did you mean {', '.join(close)}?" if close else ''
                if not names:
                    hint = f" '{prefix}' is {node!r}, not a dict or list."
                raise ConfigOptionError(
                    f"--cfg-options key '{full_key}': {where} has no key "
                    f"'{part}'.{hint} (to add a new key on purpose, pass "
                    '--allow-new-keys)')
            node = node[int(part)] if isinstance(node, (list, tuple)) \
                else node[part]
        else:
            _check_type(full_key, node, options[full_key])


def set_local_rank(local_rank: int) -> None:
    """Export ``LOCAL_RANK`` for launchers that pass ``--local-rank``."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(local_rank)


def _ann_files(dataset: Any) -> List[str]:
    """The local ``ann_file`` paths of a dataset config (and of the datasets
    it wraps), joined with their ``data_root``."""
    if not isinstance(dataset, dict):
        return []
    if isinstance(dataset.get('datasets'), (list, tuple)):
        return [p for d in dataset['datasets'] for p in _ann_files(d)]
    if isinstance(dataset.get('dataset'), dict):
        return _ann_files(dataset['dataset'])
    ann_file = dataset.get('ann_file')
    root = str(dataset.get('data_root') or '')
    if not ann_file or '://' in str(ann_file) or '://' in root:
        return []
    return [os.path.join(root, str(ann_file))]


def missing_data_files(cfg, loaders: Sequence[str]) -> List[str]:
    """The annotation files the given dataloaders need that do not exist.

    Args:
        cfg (Config): The config.
        loaders (sequence[str]): Dataloader keys, e.g. ``('train_dataloader',
            'val_dataloader')``; absent ones are ignored.

    Returns:
        list[str]: The missing files, in order.
    """
    missing = []
    for key in loaders:
        loader = cfg.get(key)
        if isinstance(loader, dict):
            for path in _ann_files(loader.get('dataset')):
                if not os.path.isfile(path) and path not in missing:
                    missing.append(path)
    return missing


def check_data_files(cfg, config: str, loaders: Sequence[str]) -> None:
    """Exit, naming them, when the dataloaders' annotation files are missing.

    Args:
        cfg (Config): The config, with the command-line edits applied.
        config (str): The config file, for the message.
        loaders (sequence[str]): Dataloader keys to check.
    """
    missing = missing_data_files(cfg, loaders)
    if missing:
        sys.exit(f'{config} needs {", ".join(missing)}, which does not '
                 f'exist: {DATA_HELP}')


def import_custom_modules(cfg) -> None:
    """Import the config's ``custom_imports`` and this project, as
    ``Config.fromfile`` would have done."""
    from mmengine.utils import import_modules_from_strings
    import projects.pimae.pimae  # noqa: F401  (registers the modules)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg['custom_imports'])
