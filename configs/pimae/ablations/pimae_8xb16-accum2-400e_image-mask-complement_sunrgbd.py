# Ablation of the image masking w.r.t. the point masking (paper, Sec. 4).
# 'complement': the patches holding a projected masked point centre are kept
# visible first, so the image shows where the points are hidden (the paper's
# choice). Each modality still masks 60% of its own tokens.
_base_ = ['../pimae_8xb16-accum2-400e_sunrgbd.py']

model = dict(backbone=dict(masker=dict(image_mask_type='complement')))
