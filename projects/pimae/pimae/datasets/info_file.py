"""Read mmdet3d info files (``*_infos_*.pkl``) without running their code.

Info files are shared between people and downloaded, and a pickle can run
any code while it is read. :func:`load_info_file` reads them with an
unpickler that builds only what mmdet3d's converters write: dicts, lists,
tuples, sets, strings, bytes, numbers, booleans, ``None``, numpy arrays and
numpy scalars. Any other object is refused before it is built.
"""
import io
import os.path as osp
import pickle
from typing import Any, Dict, Optional, Sequence, Tuple

#: The globals an mmdet3d info file may name. ``_reconstruct``,
#: ``_frombuffer``, ``scalar`` and ``dtype`` only build arrays, numpy scalars
#: and dtypes; ``ndarray`` is the only class ``_reconstruct`` may be given,
#: since it must be one of these names too. numpy 2 writes ``numpy._core``
#: where numpy 1 wrote ``numpy.core``. ``_codecs.encode`` turns the latin-1
#: text in which pickle protocol 2 stores an array's bytes back into bytes
#: (a pure function).
ALLOWED_GLOBALS = frozenset([
    ('_codecs', 'encode'),
    ('numpy.core.multiarray', '_reconstruct'),
    ('numpy._core.multiarray', '_reconstruct'),
    ('numpy.core.numeric', '_frombuffer'),  # arrays, pickle protocol 5
    ('numpy._core.numeric', '_frombuffer'),
    ('numpy.core.multiarray', 'scalar'),
    ('numpy._core.multiarray', 'scalar'),
    ('numpy', 'ndarray'),
    ('numpy', 'dtype'),
    ('collections', 'OrderedDict'),
    ('builtins', 'set'),
    ('builtins', 'frozenset'),
    ('__builtin__', 'set'),  # the names pickle protocol 2 writes
    ('__builtin__', 'frozenset'),
])


class InfoFileError(ValueError):
    """An info file that cannot be read safely or has the wrong layout."""


class _InfoUnpickler(pickle.Unpickler):
    """An unpickler that builds only :data:`ALLOWED_GLOBALS`."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(
                f'refused global {module}.{name}')
        return super().find_class(module, name)


def load_info_file(path: str,
                   backend_args: Optional[dict] = None,
                   check_layout: bool = True) -> Any:
    """Load an mmdet3d info file safely.

    Args:
        path (str): The ``.pkl`` file (local, or any MMEngine file backend).
        backend_args (dict, optional): MMEngine file backend arguments.
        check_layout (bool): Require mmdet3d v1.x's layout, a dict with
            ``metainfo`` (dict) and ``data_list`` (list). Defaults to True.

    Returns:
        Any: The unpickled object.

    Raises:
        FileNotFoundError: If a local ``path`` does not exist.
        InfoFileError: Naming ``path``, when the file is empty, truncated,
            not a pickle, holds objects other than the allowed ones (nothing
            of it is executed), or has the wrong layout.
    """
    from mmengine.fileio import get
    path = str(path)
    if '://' not in path and not osp.isfile(path):
        raise FileNotFoundError(f'info file not found: {path}')
    data = get(path, backend_args=backend_args)
    if not data:
        raise InfoFileError(f'info file {path} is empty (0 bytes)')
    try:
        info = _InfoUnpickler(io.BytesIO(data)).load()
    except pickle.UnpicklingError as error:
        if str(error).startswith('refused global'):
            raise InfoFileError(
                f'info file {path} was refused: it asks to build '
                f'{str(error)[len("refused global "):]}, but an mmdet3d '
                'info file holds only dicts, lists, strings, numbers and '
                'numpy arrays. Nothing of it was executed. Recreate it with '
                "mmdet3d's converter if it came from elsewhere.") from None
        raise InfoFileError(f'info file {path} is not a valid pickle: '
                            f'{error}') from None
    except (EOFError, ValueError, TypeError, IndexError, KeyError,
            AttributeError, MemoryError) as error:
        raise InfoFileError(
            f'info file {path} is truncated or not a pickle: '
            f'{type(error).__name__}: {error}') from None
    if check_layout and not (isinstance(info, dict) and isinstance(
            info.get('metainfo'), dict) and isinstance(
                info.get('data_list'), list)):
        found = sorted(info) if isinstance(info, dict) else type(
            info).__name__
        raise InfoFileError(
            f'info file {path} is not in the mmdet3d v1.x layout (a dict '
            f"with 'metainfo' and 'data_list'); found {found}. Convert old "
            "info files with mmdet3d's tools/dataset_converters/"
            'update_infos_to_v2.py')
    return info


def file_class_names(metainfo: dict) -> Dict[int, str]:
    """Map an info file's labels to class names.

    mmdet3d's converter writes ``metainfo['categories']`` (name -> label,
    -1 for ignored names); older files have none, and their labels index
    SUN RGB-D's 10 detection classes.

    Args:
        metainfo (dict): The info file's ``metainfo``.

    Returns:
        dict[int, str]: label -> class name.
    """
    from .sunrgbd_classes import SUNRGBD_CLASSES
    categories = metainfo.get('categories')
    if isinstance(categories, dict):
        return {
            int(label): name
            for name, label in categories.items() if int(label) >= 0
        }
    return dict(enumerate(SUNRGBD_CLASSES))


def load_object_infos(
        ann_file: str, classes: Sequence[str],
        metainfo: dict) -> Tuple[dict, Dict[int, str], Dict[str, int]]:
    """Read a SUN RGB-D info file for a dataset of its objects.

    Shared by the object-crop datasets (images and points): the file is
    read with :func:`load_info_file`, its metainfo fills the keys
    ``metainfo`` lacks (but ``categories``: the datasets keep ``classes``),
    and every class asked for must be a class of the file.

    Args:
        ann_file (str): The info ``.pkl``.
        classes (sequence[str]): The dataset's classes, in label order.
        metainfo (dict): The dataset's metainfo, updated in place.

    Returns:
        tuple[dict, dict, dict]: The file's content, its label -> name map
        and the dataset's name -> label map.

    Raises:
        FileNotFoundError: If ``ann_file`` does not exist.
        ValueError: If a class is not in the file.
    """
    if not osp.isfile(ann_file):
        raise FileNotFoundError(
            f'SUN RGB-D info file not found: {ann_file} (make it with '
            'mmdet3d\'s tools/create_data.py sunrgbd or '
            'tools/create_demo_data.py)')
    infos = load_info_file(ann_file)
    file_meta = infos.get('metainfo') or {}
    for key, value in file_meta.items():
        if key != 'categories':  # ours are 'classes'
            metainfo.setdefault(key, value)
    names = file_class_names(file_meta)
    unknown = set(classes) - set(names.values())
    if unknown:
        raise ValueError(f'classes {sorted(unknown)} are not classes of '
                         f'{ann_file} ({sorted(names.values())})')
    return infos, names, {name: i for i, name in enumerate(classes)}
