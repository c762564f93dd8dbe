# SUN RGB-D's 10 detection classes in the label order of mmdet3d's
# SUNRGBDDataset (the project's code holds the same tuple in
# projects/pimae/pimae/datasets/sunrgbd_classes.py). The SUN RGB-D dataset
# bases inherit it and pass `_base_.metainfo` to their datasets.
class_names = ('bed', 'table', 'sofa', 'chair', 'toilet', 'desk', 'dresser',
               'night_stand', 'bookshelf', 'bathtub')
metainfo = dict(classes=class_names)
