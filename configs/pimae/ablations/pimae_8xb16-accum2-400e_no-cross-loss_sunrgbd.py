# Ablation: no cross-modal reconstruction (paper, Sec. 4). The cross-modal
# head is absent (no parameters, no compute): the model learns from the point
# (Chamfer) and image (pixel MSE) reconstructions only, with both modalities
# still meeting in the shared encoder and the joint decoder.
_base_ = ['../pimae_8xb16-accum2-400e_sunrgbd.py']

model = dict(cross_head=None)
