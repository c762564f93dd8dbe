# Ablation of the image masking w.r.t. the point masking (paper, Sec. 4).
# 'uniform': the patches holding a projected masked point centre are masked
# first, so the two modalities hide the same places. Each modality still
# masks 60% of its own tokens.
_base_ = ['../pimae_8xb16-accum2-400e_sunrgbd.py']

model = dict(backbone=dict(masker=dict(image_mask_type='uniform')))
