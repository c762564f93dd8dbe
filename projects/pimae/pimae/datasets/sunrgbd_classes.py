"""SUN RGB-D's 10 detection classes, one tuple for the whole project."""

#: SUN RGB-D's 10 detection classes, in the label order of mmdet3d's
#: ``SUNRGBDDataset`` and of its info-file converter (the configs spell the
#: same tuple once, in ``configs/_base_/datasets/sunrgbd_classes.py``)
SUNRGBD_CLASSES = ('bed', 'table', 'sofa', 'chair', 'toilet', 'desk',
                   'dresser', 'night_stand', 'bookshelf', 'bathtub')
