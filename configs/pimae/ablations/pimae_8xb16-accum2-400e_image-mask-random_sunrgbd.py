# Ablation of the image masking w.r.t. the point masking (paper, Sec. 4).
# 'random': the image mask is drawn independently of the point mask. This is
# what the released config trains (its complement path is unreachable, see
# projects/pimae/docs/original_code.md, 'Masking'), i.e. the base config,
# written out for the ablation table. Each modality masks 60% of its tokens.
_base_ = ['../pimae_8xb16-accum2-400e_sunrgbd.py']

model = dict(backbone=dict(masker=dict(image_mask_type='random')))
