"""Render a PiMAE reconstruction (image + point cloud) into one picture."""
from typing import Optional, Sequence, Tuple

import matplotlib

matplotlib.use('Agg')  # noqa: E402  (no display on training machines)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.structures import BaseDataElement  # noqa: E402


def denormalize_image(img: torch.Tensor,
                      mean: Optional[Sequence[float]] = None,
                      std: Optional[Sequence[float]] = None) -> np.ndarray:
    """Turn a normalised (C, H, W) RGB tensor into an (H, W, 3) uint8 image.

    Args:
        img (Tensor): (3, H, W) image in the network's input space.
        mean (Sequence[float], optional): Per-channel mean of the
            normalisation (0-255 scale). None: the image is not normalised.
        std (Sequence[float], optional): Per-channel std (0-255 scale).

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB image.
    """
    img = img.detach().float().cpu()
    if mean is not None and std is not None:
        mean_t = torch.as_tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        std_t = torch.as_tensor(std, dtype=torch.float32).view(-1, 1, 1)
        img = img * std_t + mean_t
    return img.clamp(0, 255).round().byte().permute(1, 2, 0).numpy()


def _scatter3d(ax, points: np.ndarray, color: str, title: str,
               limits: Tuple[np.ndarray, np.ndarray], max_points: int) -> None:
    if len(points) > max_points:  # evenly thinned, deterministic
        points = points[np.linspace(0,
                                    len(points) - 1, max_points).astype(int)]
    ax.scatter(
        points[:, 0],
        points[:, 1],
        points[:, 2],
        s=0.5,
        c=color,
        depthshade=False)
    low, high = limits
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_zlim(low[2], high[2])
    ax.set_box_aspect(tuple(np.maximum(high - low, 1e-3)))
    ax.view_init(elev=25, azim=-110)  # looking from behind the camera
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=6)


def draw_reconstruction(reconstruction: BaseDataElement,
                        mean: Optional[Sequence[float]] = None,
                        std: Optional[Sequence[float]] = None,
                        title: str = '',
                        max_points: int = 4096,
                        dpi: int = 100) -> np.ndarray:
    """Draw the six panels of a PiMAE reconstruction.

    Top row: input image, masked image, reconstruction (visible patches from
    the input, masked ones predicted). Bottom row, depth frame: visible
    points, masked ground-truth points, predicted masked points.

    Args:
        reconstruction (BaseDataElement): The ``reconstruction`` field that
            ``PiMAE.predict`` puts on each data sample (``img_input``,
            ``img_masked``, ``img_rec`` of shape (3, H, W), ``pts_visible``,
            ``pts_masked_gt``, ``pts_masked_pred`` of shape (K, 3)).
        mean (Sequence[float], optional): Image normalisation mean.
        std (Sequence[float], optional): Image normalisation std.
        title (str): Figure title, e.g. the sample name.
        max_points (int): Points drawn per 3D panel at most.
        dpi (int): Resolution of the rendered figure.

    Returns:
        np.ndarray: (H', W', 3) uint8 RGB picture (H', W' = 800, 1200 at
        the default dpi).
    """
    rec = reconstruction
    figure = plt.figure(figsize=(12, 8), dpi=dpi)
    try:
        images = (('input', rec.img_input), ('masked input', rec.img_masked),
                  ('reconstruction', rec.img_rec))
        for column, (name, img) in enumerate(images):
            ax = figure.add_subplot(2, 3, column + 1)
            ax.imshow(denormalize_image(img, mean, std))
            ax.set_title(name, fontsize=9)
            ax.axis('off')
        clouds = (('visible points', rec.pts_visible, 'tab:blue'),
                  ('masked points (ground truth)', rec.pts_masked_gt,
                   'tab:green'), ('masked points (prediction)',
                                  rec.pts_masked_pred, 'tab:red'))
        arrays = [c.detach().float().cpu().numpy() for _, c, _ in clouds]
        stacked = np.concatenate(arrays[:2], axis=0)  # fixed by the input
        limits = (stacked.min(axis=0), stacked.max(axis=0))
        for column, ((name, _, color),
                     points) in enumerate(zip(clouds, arrays)):
            ax = figure.add_subplot(2, 3, column + 4, projection='3d')
            _scatter3d(ax, points, color, name, limits, max_points)
        if title:
            figure.suptitle(title, fontsize=10)
        figure.tight_layout()
        figure.canvas.draw()
        picture = np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()
    finally:
        plt.close(figure)
    return picture
