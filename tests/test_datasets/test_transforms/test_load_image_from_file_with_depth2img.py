"""LoadImageFromFileWithDepth2Img: JPEGs decoded at a reduced scale with
depth2img, ori_shape and scale_factor kept exact."""
import cv2
import mmcv
import numpy as np
import pytest
from PIL import Image

from mmdet3d.registry import TRANSFORMS
from projects.pimae.pimae.datasets import BadSampleError
from projects.pimae.pimae.datasets.transforms.\
    load_image_from_file_with_depth2img import jpeg_decode_scale
from projects.pimae.pimae.geometry import (depth2img_after_resize,
                                           native_scale_from_metainfo)
from ..conftest import colour_errors, scene_results


def _scene_file(tmp_path, width=480, height=360, seed=3, suffix='.jpg'):
    """A rendered scene (points with their true colours) and its image
    stored as ``suffix``; results as the dataset hands them to the loader."""
    res = scene_results(seed=seed, width=width, height=height)
    path = str(tmp_path / f'scene{suffix}')
    assert cv2.imwrite(path, res.pop('img'), [cv2.IMWRITE_JPEG_QUALITY, 95])
    res['img_path'] = path
    for key in ('img_shape', 'ori_shape'):
        res.pop(key)
    return res


def _load(res, **kwargs):
    loader = TRANSFORMS.build(
        dict(type='LoadImageFromFileWithDepth2Img', **kwargs))
    return loader(dict(res, depth2img=res['depth2img'].copy()))


@pytest.mark.parametrize('size, min_shape, scale', [
    ((730, 530), (256, 352), 2),  # SUN RGB-D's Kinect v2 images
    ((730, 530), (200, 300), 2),  # 730 / 4 is no whole number
    ((704, 512), (64, 88), 8),
    ((704, 512), (65, 88), 4),
    ((365, 265), (64, 88), 1),  # odd sides: a partial last block
    ((730, 530), (266, 352), 1),  # 1/2 would be smaller than min_shape
    ((640, 480), (480, 640), 1),
])
def test_decode_scale(size, min_shape, scale):
    assert jpeg_decode_scale(*size, min_shape) == scale


def test_full_decode_equals_mmcv(tmp_path):
    res = _scene_file(tmp_path)
    mmcv_out = TRANSFORMS.build(dict(type='LoadImageFromFile'))(dict(res))
    for min_shape in (None, (360, 480), (361, 480)):
        out = _load(res, min_shape=min_shape)
        np.testing.assert_array_equal(out['img'], mmcv_out['img'])
        assert out['img_shape'] == out['ori_shape'] == (360, 480)
        np.testing.assert_array_equal(out['depth2img'], res['depth2img'])
        assert 'scale_factor' not in out


@pytest.mark.parametrize('min_shape, scale', [((180, 240), 2),
                                              ((90, 120), 4),
                                              ((45, 60), 8)])
def test_reduced_decode_keeps_projection_on_content(tmp_path, min_shape,
                                                    scale):
    res = _scene_file(tmp_path)
    full = _load(res)
    out = _load(res, min_shape=min_shape)
    shape = (360 // scale, 480 // scale)
    assert out['img'].shape == shape + (3, ) and out['img_shape'] == shape
    assert out['ori_shape'] == (360, 480)
    assert out['scale_factor'] == (1 / scale, 1 / scale)
    np.testing.assert_allclose(
        out['depth2img'],
        depth2img_after_resize(res['depth2img'], (1 / scale, 1 / scale)))
    # the reduced decode is an s x s block average of the full one (within
    # JPEG's own error)
    area = cv2.resize(full['img'], shape[::-1], interpolation=cv2.INTER_AREA)
    diff = np.abs(out['img'].astype(float) - area)
    assert diff.mean() < 3 and np.percentile(diff, 99) < 25, diff.mean()
    # an independent check of the geometry: each point lands on its colour
    # as well as in the full image, and the unscaled matrix does not
    err = colour_errors(out)
    assert np.median(err) <= np.median(colour_errors(full)) + 4
    assert (err > 40).mean() < 0.05
    wrong = dict(out, depth2img=res['depth2img'])
    assert (colour_errors(wrong) > 40).mean() > 4 * max(
        (err > 40).mean(), 0.02)


def test_scale_factor_composes_with_resize(tmp_path):
    res = _scene_file(tmp_path)
    resize = TRANSFORMS.build(
        dict(type='ResizeWithDepth2Img', scale=(176, 128), keep_ratio=False))
    full = resize(_load(res))
    reduced = resize(_load(res, min_shape=(128, 176)))
    assert reduced['img_shape'] == full['img_shape'] == (128, 176)
    np.testing.assert_allclose(
        reduced['depth2img'], full['depth2img'], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(reduced['scale_factor'], full['scale_factor'])
    assert full['scale_factor'] == (176 / 480, 128 / 360)
    # the compat geometry maps the network input back to the stored image
    for out in (full, reduced):
        np.testing.assert_allclose(
            native_scale_from_metainfo(out, out['img_shape']),
            (176 / 480, 128 / 360))
    # mmcv's plain Resize would forget the decode scale; that is caught
    plain = TRANSFORMS.build(
        dict(type='mmcv.Resize', scale=(176, 128), keep_ratio=False))(
            _load(res, min_shape=(128, 176)))
    with pytest.raises(ValueError, match='does not give the image shape'):
        native_scale_from_metainfo(plain, plain['img_shape'])


def test_png_and_rotated_jpeg_decode_in_full(tmp_path):
    res = _scene_file(tmp_path, suffix='.png')
    out = _load(res, min_shape=(90, 120))
    np.testing.assert_array_equal(out['img'], mmcv.imread(res['img_path']))
    assert 'scale_factor' not in out
    # an EXIF rotation: the decoder turns the image, so no reduced decode
    rotated = str(tmp_path / 'rotated.jpg')
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.open(res['img_path']).save(rotated, exif=exif.tobytes())
    out = _load(dict(res, img_path=rotated), min_shape=(90, 120))
    assert 'scale_factor' not in out
    expected = TRANSFORMS.build(dict(type='LoadImageFromFile'))(
        dict(res, img_path=rotated))['img']
    np.testing.assert_array_equal(out['img'], expected)


def test_bad_files_are_named(tmp_path):
    res = _scene_file(tmp_path)
    missing = str(tmp_path / 'missing.jpg')
    with pytest.raises(BadSampleError, match='missing.jpg does not exist'):
        _load(dict(res, img_path=missing), min_shape=(90, 120))
    assert _load(
        dict(res, img_path=missing), min_shape=(90, 120),
        ignore_empty=True) is None
    cut = tmp_path / 'cut.jpg'
    cut.write_bytes(open(res['img_path'], 'rb').read()[:100])
    with pytest.raises(BadSampleError, match='cut.jpg .100 bytes. could not'):
        _load(dict(res, img_path=str(cut)), min_shape=(90, 120))
    # a reduced decode has to scale depth2img, so a broken one is named
    with pytest.raises(BadSampleError, match='singular'):
        _load(dict(res, depth2img=np.zeros((3, 3))), min_shape=(90, 120))


@pytest.mark.parametrize('kwargs, match', [
    (dict(min_shape=(256, )), 'min_shape must be'),
    (dict(min_shape=(0, 352)), 'min_shape must be'),
    (dict(min_shape=(256, 352), color_type='unchanged'), 'color_type'),
    (dict(min_shape=(256, 352), imdecode_backend='pillow'), 'cv2'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TRANSFORMS.build(dict(type='LoadImageFromFileWithDepth2Img', **kwargs))
