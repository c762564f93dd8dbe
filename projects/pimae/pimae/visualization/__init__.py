from .draw_reconstruction import denormalize_image, draw_reconstruction

__all__ = ['denormalize_image', 'draw_reconstruction']
