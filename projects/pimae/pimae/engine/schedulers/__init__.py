from .cosine_annealing_to_end_lr import CosineAnnealingToEndLR

__all__ = ['CosineAnnealingToEndLR']
