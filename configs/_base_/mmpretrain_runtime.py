# Runtime of the image-branch transfer configs (configs/vit/): the project's
# runtime (configs/_base_/default_runtime.py) under mmpretrain's registries
# (mmpretrain 1.2 conventions), with mmpretrain's visualizer and its
# prediction-drawing hook (off).
_base_ = ['./default_runtime.py']

default_scope = 'mmpretrain'
default_hooks = dict(
    visualization=dict(type='VisualizationHook', enable=False))
# the runtime's hooks live in mmdet3d's HOOKS (this project's registry),
# hence the scope prefix under mmpretrain's default scope
custom_hooks = [
    dict(hook, type=f'mmdet3d.{hook.type}') for hook in _base_.custom_hooks
]
visualizer = dict(
    _delete_=True,
    type='UniversalVisualizer',
    vis_backends=_base_.vis_backends)
