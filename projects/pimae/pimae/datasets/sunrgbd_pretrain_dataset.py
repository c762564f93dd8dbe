"""SUN RGB-D as paired point + image data for PiMAE pre-training."""
import logging
from typing import List, Optional, Set

from mmengine.logging import print_log

from mmdet3d.datasets import SUNRGBDDataset
from mmdet3d.registry import DATASETS
from .bad_sample_error import BadSampleError, describe_sample
from .info_file import load_info_file


@DATASETS.register_module()
class SUNRGBDPretrainDataset(SUNRGBDDataset):
    """mmdet3d's ``SUNRGBDDataset`` for point + image pre-training.

    Reads the mmdet3d v1.x SUN RGB-D info files (``sunrgbd_infos_*.pkl``
    written by mmdet3d's converter, or by ``tools/create_demo_data.py``).
    Each sample gives the points (``lidar_points.lidar_path``), the image
    (``img_path``) and ``depth2img`` (float32 3x3, depth frame to 1-based
    pixels) exactly as ``SUNRGBDDataset`` does. Differences:

    - ``filter_empty_gt`` defaults to False: pre-training needs no boxes.
    - The info file is read with :func:`load_info_file`, which refuses
      anything but plain data (a malicious pickle runs no code) and names
      the file when it is empty, truncated or not an info file.
    - A sample without ``depth2img`` in its info still loads (as ``None``);
      the ``CheckDepth2Img`` transform then rejects it with its name.
    - Every error raised while preparing a sample is a
      :class:`BadSampleError` whose message names the sample (index, point
      and image files); the original exception is chained.
    - ``skip_bad_samples=True`` logs such a sample (once) and serves another
      one instead (mmengine's refetch), so one bad file does not stop a
      run; a malformed info entry (no ``lidar_points`` or ``images``) is
      logged with its index and left out. More than ``max_bad_fraction`` of
      the dataset failing raises, since that points at a systematic problem
      (wrong paths, pipeline bug) rather than at a few bad files.

    Args:
        skip_bad_samples (bool): Skip unusable samples instead of raising.
            Defaults to False. Not available with ``test_mode=True``
            (mmengine refuses ``None`` samples in test mode).
        max_bad_fraction (float): With ``skip_bad_samples``, the largest
            tolerated fraction of distinct bad samples. Defaults to 0.1.
        filter_empty_gt (bool): See ``Det3DDataset``. Defaults to False.
        **kwargs: Arguments of ``SUNRGBDDataset`` (``data_root``,
            ``ann_file``, ``data_prefix``, ``pipeline``, ``modality``,
            ``test_mode`` ...).
    """

    def __init__(self,
                 *args,
                 skip_bad_samples: bool = False,
                 max_bad_fraction: float = 0.1,
                 filter_empty_gt: bool = False,
                 **kwargs) -> None:
        if not 0. < max_bad_fraction <= 1.:
            raise ValueError(f'max_bad_fraction must be in (0, 1], got '
                             f'{max_bad_fraction}')
        if skip_bad_samples and kwargs.get('test_mode', False):
            raise ValueError('skip_bad_samples=True needs test_mode=False: '
                             'mmengine cannot replace a bad test sample')
        self.skip_bad_samples = skip_bad_samples
        self.max_bad_fraction = max_bad_fraction
        self._bad_indices: Set[int] = set()
        super().__init__(*args, filter_empty_gt=filter_empty_gt, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the info file safely and parse its entries.

        Returns:
            list[dict]: Parsed data infos. With ``skip_bad_samples``, the
            malformed entries are logged by index and left out.
        """
        annotations = load_info_file(self.ann_file, self.backend_args)
        for key, value in annotations['metainfo'].items():
            self._metainfo.setdefault(key, value)
        data_list, bad = [], []
        for index, raw_info in enumerate(annotations['data_list']):
            try:
                if not isinstance(raw_info, dict):
                    raise BadSampleError(
                        f'entry {index}', f'malformed info entry in '
                        f'{self.ann_file}: a {type(raw_info).__name__}, '
                        'not a dict')
                data_list.append(self.parse_data_info(raw_info))
            except BadSampleError as error:
                if not self.skip_bad_samples:
                    raise BadSampleError(f'entry {index} of {self.ann_file}',
                                         str(error)) from error
                bad.append(index)
                print_log(
                    f'skipping info entry {index}: {error}',
                    logger='current',
                    level=logging.WARNING)
        total = len(annotations['data_list'])
        if bad and len(bad) > max(1, int(self.max_bad_fraction * total)):
            raise RuntimeError(
                f'{len(bad)} of {total} entries of {self.ann_file} are '
                f'malformed (more than max_bad_fraction='
                f'{self.max_bad_fraction}), e.g. entries {bad[:5]}')
        return data_list

    def parse_data_info(self, info: dict) -> dict:
        """Parse one raw info like ``SUNRGBDDataset``, tolerating a missing
        ``depth2img``.

        Args:
            info (dict): Raw data info from the info file.

        Returns:
            dict: Parsed info with ``img_path``, ``depth2img`` (float32
            (3, 3), or ``None`` when the info has none), ``lidar_points``
            and top-level ``lidar_path`` / ``num_pts_feats``.
        """
        cam_key = self.default_cam_key
        cam = (info.get('images') or {}).get(cam_key) \
            if self.modality['use_camera'] and cam_key is not None else None
        missing = cam is not None and cam.get('depth2img') is None
        if missing:  # placeholder so that the parent can parse the rest
            cam['depth2img'] = [[1., 0., 0.], [0., 1., 0.], [0., 0., 1.]]
        try:
            info = super().parse_data_info(info)
        except (KeyError, TypeError, ValueError) as error:
            raise BadSampleError(
                describe_sample(info), f'malformed info entry in '
                f'{self.ann_file}: {type(error).__name__}: {error}') from error
        if missing:
            info['depth2img'] = None
            info['images'][cam_key]['depth2img'] = None
        lidar = info.get('lidar_points')
        if self.modality['use_lidar'] and isinstance(lidar, dict):
            # top-level copies, so that Pack3DDetInputs finds them as meta
            # keys (it looks in ``images`` first and never reaches
            # ``lidar_points`` for SUN RGB-D)
            info['lidar_path'] = lidar.get('lidar_path')
            info['num_pts_feats'] = lidar.get('num_pts_feats')
        return info

    def prepare_data(self, index: int) -> Optional[dict]:
        """Run the pipeline on one sample, naming it in any error.

        Args:
            index (int): Dataset index.

        Returns:
            dict | None: The packed sample; ``None`` (another sample is
            fetched) for a bad sample when ``skip_bad_samples``.
        """
        try:
            return super().prepare_data(index)
        except Exception as error:  # every failure must name the sample
            if isinstance(error, BadSampleError):
                bad = error
            else:
                bad = BadSampleError(
                    describe_sample(self.get_data_info(index), index),
                    f'{type(error).__name__}: {error}')
                bad.__cause__ = error
            if not self.skip_bad_samples:
                raise bad from error
            return self._skip(index, bad)

    def _skip(self, index: int, error: BadSampleError) -> None:
        """Log a bad sample (once) and give up when too many are bad."""
        if index not in self._bad_indices:
            self._bad_indices.add(index)
            print_log(
                f'skipping bad sample: {error}',
                logger='current',
                level=logging.WARNING)
        limit = max(1, int(self.max_bad_fraction * len(self)))
        if len(self._bad_indices) > limit:
            raise RuntimeError(
                f'{len(self._bad_indices)} of {len(self)} samples of '
                f'{self.ann_file} are unusable (more than max_bad_fraction='
                f'{self.max_bad_fraction}); last error: {error}') from error
        return None
