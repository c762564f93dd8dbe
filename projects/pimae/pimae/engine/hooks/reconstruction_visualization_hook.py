"""Send PiMAE reconstructions of training batches to the visualiser."""
from typing import Any, Optional

import torch
from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdet3d.registry import HOOKS
from ...visualization import draw_reconstruction


def image_normalization(model) -> tuple:
    """Return the (mean, std) the model's data preprocessor normalises with.

    Both are None when the preprocessor does not normalise images.
    """
    preprocessor = model.data_preprocessor
    if not getattr(preprocessor, '_enable_normalize', False):
        return None, None
    return (preprocessor.mean.flatten().tolist(),
            preprocessor.std.flatten().tolist())


def first_samples(batch: Any, num: int) -> Any:
    """The first ``num`` samples of a collated batch (nested dicts of lists or
    tensors whose first dimension is the batch)."""
    if isinstance(batch, dict):
        return {key: first_samples(value, num) for key, value in batch.items()}
    if isinstance(batch, (list, tuple, torch.Tensor)):
        return batch[:num]
    return batch


@HOOKS.register_module()
class ReconstructionVisualizationHook(Hook):
    """Draw reconstructions of the current batch every ``interval`` iterations.

    The model runs in eval mode on the batch it has just trained on (the
    masks are drawn anew), and the first ``num_samples`` samples are drawn
    with :func:`draw_reconstruction` and added to every backend of the
    runner's visualiser (local PNG files, TensorBoard, ...) under the names
    ``reconstruction_<i>``.

    The pictures pair the points with the image, so a model that
    pre-trains one modality (the point-only and image-only ablations) gets
    none: the hook says so once, when training starts, and draws nothing.

    Args:
        interval (int): Draw every ``interval`` training iterations, and after
            the last one. Defaults to 500.
        num_samples (int): Samples of the batch to draw. Defaults to 1.
        max_points (int): Points drawn per 3D panel at most. Defaults to 4096.
    """

    priority = 'LOW'

    def __init__(self,
                 interval: int = 500,
                 num_samples: int = 1,
                 max_points: int = 4096) -> None:
        if interval < 1 or num_samples < 1:
            raise ValueError('ReconstructionVisualizationHook: interval and '
                             f'num_samples must be >= 1, got {interval} and '
                             f'{num_samples}')
        self.interval = interval
        self.num_samples = num_samples
        self.max_points = max_points
        self._single_modality = False

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        backbone = getattr(model, 'backbone', None)
        modalities = tuple(getattr(backbone, 'modalities', ()))
        self._single_modality = len(modalities) == 1
        if self._single_modality:
            runner.logger.info(
                'ReconstructionVisualizationHook: the model pre-trains '
                f'{modalities[0]} only and the pictures pair points with '
                'images, so no reconstructions are drawn')

    @master_only
    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if data_batch is None or self._single_modality:
            return
        if not (self.every_n_train_iters(runner, self.interval)
                or self.is_last_train_iter(runner)):
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        samples = first_samples(data_batch, self.num_samples)
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                results = model.test_step(samples)
        finally:
            model.train(was_training)
        mean, std = image_normalization(model)
        for index, result in enumerate(results[:self.num_samples]):
            name = result.metainfo.get('sample_idx', index)
            picture = draw_reconstruction(
                result.reconstruction, mean, std,
                title=f'iter {runner.iter + 1}, sample {name}',
                max_points=self.max_points)
            runner.visualizer.add_image(
                f'reconstruction_{index}', picture, step=runner.iter + 1)
