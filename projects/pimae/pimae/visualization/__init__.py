from .draw_reconstruction import denormalize_image, draw_reconstruction
from .pack_reconstructions import pack_reconstructions

__all__ = ['denormalize_image', 'draw_reconstruction', 'pack_reconstructions']
