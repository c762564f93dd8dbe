"""PiMAEVisionTransformer: divisibility check and non-square pos tables."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.models import VisionTransformer
from mmpretrain.registry import MODELS

from projects.pimae.pimae.models.backbones.pimae_vision_transformer import \
    PiMAEVisionTransformer

ARCH = dict(embed_dims=32, num_layers=1, num_heads=2, feedforward_channels=64)


def vit(img_size, **kwargs):
    kwargs.setdefault('with_cls_token', False)
    kwargs.setdefault('out_type', 'raw')
    return PiMAEVisionTransformer(
        arch=ARCH,
        img_size=img_size,
        patch_size=16,
        final_norm=False,
        **kwargs)


def grid_resize(table, src, dst, mode):
    """(1, h * w, C) row-major table resized as an image (the oracle)."""
    grid = table.reshape(1, *src, -1).permute(0, 3, 1, 2)
    out = F.interpolate(grid, size=dst, mode=mode, align_corners=False)
    return out.flatten(2).transpose(1, 2)


def test_registered_subclass():
    assert MODELS.get('PiMAEVisionTransformer') is PiMAEVisionTransformer
    assert issubclass(PiMAEVisionTransformer, VisionTransformer)


@pytest.mark.parametrize('img_size,bad', [((250, 256), 250), ((128, 120), 120),
                                          (100, 100)])
def test_input_size_not_divisible_by_patch(img_size, bad):
    with pytest.raises(ValueError) as error:
        vit(img_size)
    assert f'{bad} % 16' in str(error.value)
    assert 'patch_size 16' in str(error.value)
    with pytest.raises(ValueError, match='pretrained_img_size 256x350'):
        vit(128, pretrained_img_size=(256, 350))


def test_parent_pads_what_the_subclass_rejects():
    # why the check exists: mmpretrain pads 250 up to 16 patches of 16
    parent = VisionTransformer(arch=ARCH, img_size=(250, 256))
    assert tuple(parent.patch_resolution) == (16, 16)


@pytest.mark.parametrize('cls_slot', [True, False])
@pytest.mark.parametrize('mode', ['bicubic', 'bilinear'])
def test_non_square_table_is_resized_on_load(cls_slot, mode):
    torch.manual_seed(0)
    table = torch.randn(1, 16 * 22, 32)  # PiMAE's 256 x 352 grid
    state = {'pos_embed': table}
    if cls_slot:
        state['pos_embed'] = torch.cat([torch.zeros(1, 1, 32), table], 1)
    model = vit((128, 96),
                pretrained_img_size=(256, 352),
                interpolate_mode=mode)
    model.load_state_dict(state, strict=False)
    expected = grid_resize(table, (16, 22), (8, 6), mode)
    torch.testing.assert_close(model.pos_embed.data, expected)
    # a model with a cls token gets a zero slot in front
    with_cls = vit((128, 96),
                   pretrained_img_size=(256, 352),
                   with_cls_token=True,
                   out_type='cls_token',
                   interpolate_mode=mode)
    with_cls.load_state_dict(state, strict=False)
    torch.testing.assert_close(with_cls.pos_embed.data[:, 1:], expected)
    assert with_cls.pos_embed.data[:, 0].abs().max() == 0


def test_same_grid_loads_unchanged_and_unknown_grid_fails():
    table = torch.randn(1, 16 * 22, 32)
    model = vit((256, 352))
    model.load_state_dict({'pos_embed': table}, strict=False)
    torch.testing.assert_close(model.pos_embed.data, table, rtol=0, atol=0)
    # a square source grid needs no pretrained_img_size (as in mmpretrain)
    square = torch.randn(1, 1 + 4 * 4, 32)
    model = vit(128)
    model.load_state_dict({'pos_embed': square}, strict=False)
    torch.testing.assert_close(
        model.pos_embed.data,
        grid_resize(square[:, 1:], (4, 4), (8, 8), 'bicubic'))
    with pytest.raises(
            ValueError,
            match=r'352 tokens.*pretrained_img_size'
            r'=None.*--img-size'):
        model.load_state_dict({'pos_embed': table}, strict=False)
