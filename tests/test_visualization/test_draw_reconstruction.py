import numpy as np
import torch
from mmengine.structures import BaseDataElement

from projects.pimae.pimae.visualization import (denormalize_image,
                                                draw_reconstruction)

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def test_denormalize_inverts_the_normalisation():
    rgb = torch.randint(0, 256, (3, 4, 5)).float()
    normalised = (rgb - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(
        STD).view(3, 1, 1)
    out = denormalize_image(normalised, MEAN, STD)
    assert out.shape == (4, 5, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, rgb.permute(1, 2, 0).byte().numpy())


def test_draw_reconstruction_picture():
    img = torch.zeros(3, 32, 48)
    img[0] = 2.0  # strongly red after de-normalisation
    rec = BaseDataElement(
        img_input=img, img_masked=img * 0, img_rec=img,
        pts_visible=torch.rand(200, 3), pts_masked_gt=torch.rand(100, 3),
        pts_masked_pred=torch.rand(100, 3) * 5)
    picture = draw_reconstruction(rec, MEAN, STD, title='t', dpi=50)
    assert picture.shape == (400, 600, 3) and picture.dtype == np.uint8
    # the input panel (top left) shows the red image
    top_left = picture[:200, :200].reshape(-1, 3).astype(int)
    red = (top_left[:, 0] > 200) & (top_left[:, 1] < 150)
    assert red.mean() > 0.2
