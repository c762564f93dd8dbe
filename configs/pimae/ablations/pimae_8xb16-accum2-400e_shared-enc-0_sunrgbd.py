# Ablation of the encoder depth split (paper, Sec. 4): 6 modality-specific
# layers (point and image alike) + 0 shared layers, 6 in all on the point side,
# so that the 6-layer 3DETR encoder still receives 6 + 0 PiMAE layers.
# With 0 shared layers the modalities meet only in the joint decoder, and the
# encoder has no cls token (no layer would read it).
_base_ = ['../pimae_8xb16-accum2-400e_sunrgbd.py']

num_specific_layers = 6
model = dict(
    backbone=dict(
        img_encoder=dict(num_layers=num_specific_layers),
        pts_encoder=dict(num_layers=num_specific_layers),
        shared_encoder=dict(num_layers=0)))
