"""PiMAE for OpenMMLab.

Importing this package registers its modules into mmdet3d's registries, e.g.
``custom_imports = dict(imports=['projects.pimae.pimae'],
allow_failed_imports=False)`` in a config.
"""
from .engine import *  # noqa: F401,F403
