# Ablation of the encoder depth split (paper, Sec. 4): 5 modality-specific
# layers (point and image alike) + 1 shared layers, 6 in all on the point side,
# so that the 6-layer 3DETR encoder still receives 5 + 1 PiMAE layers.
_base_ = ['../pimae_8xb16-accum2-400e_sunrgbd.py']

num_specific_layers = 5
model = dict(
    backbone=dict(
        img_encoder=dict(num_layers=num_specific_layers),
        pts_encoder=dict(num_layers=num_specific_layers),
        shared_encoder=dict(num_layers=1)))
