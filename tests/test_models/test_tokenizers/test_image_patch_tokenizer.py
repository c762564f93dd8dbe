import pytest
import torch

from projects.pimae.pimae.models.tokenizers import ImagePatchTokenizer
from projects.pimae.pimae.models.utils import build_2d_sincos_pos_embed


def test_default_shapes():
    tokenizer = ImagePatchTokenizer()
    assert tokenizer.grid_size == (16, 22)
    assert tokenizer.num_patches == 352
    assert tuple(tokenizer.patch_embed.projection.weight.shape) == (256, 3, 16,
                                                                    16)
    assert 'pos_embed' in tokenizer.state_dict()
    assert not any('pos_embed' in k for k, _ in tokenizer.named_parameters())
    torch.testing.assert_close(tokenizer.pos_embed,
                               build_2d_sincos_pos_embed((16, 22), 256))


def test_row_major_tokens():
    torch.manual_seed(0)
    tokenizer = ImagePatchTokenizer(img_size=(32, 48), embed_dims=8)
    tokenizer.init_weights()
    imgs = torch.zeros(1, 3, 32, 48)
    imgs[:, :, 16:32, 16:32] = 1.  # patch (row 1, col 1) -> token 4
    tokens = tokenizer(imgs) - tokenizer.pos_embed
    changed = (tokens - tokens[:, :1]).abs().sum(-1)[0] > 1e-6
    assert changed.nonzero()[:, 0].tolist() == [1 * 3 + 1]


def test_errors():
    with pytest.raises(ValueError, match='not divisible'):
        ImagePatchTokenizer(img_size=(250, 352))
    tokenizer = ImagePatchTokenizer(img_size=(32, 48), embed_dims=8)
    with pytest.raises(ValueError, match=r'\(B, 3, 32, 48\)'):
        tokenizer(torch.zeros(1, 3, 32, 64))
