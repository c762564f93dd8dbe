# VoteNet on SUN RGB-D with PiMAE's point backbone initialised from PiMAE:
# its 6 encoder layers (backbone.encoder.layers.0..5) take PiMAE's 3
# point-specific + 3 shared layers; everything else starts from scratch, as
# in votenet_pimae-backbone_8xb16_sunrgbd-3d.py. Set the checkpoint with
#   --cfg-options model.init_cfg.checkpoint=work_dirs/pretrain/epoch_400.pth
_base_ = ['./votenet_pimae-backbone_8xb16_sunrgbd-3d.py']

pimae_checkpoint = 'checkpoints/pimae_sunrgbd.pth'
model = dict(
    init_cfg=dict(type='PiMAEPretrained', checkpoint=pimae_checkpoint))
