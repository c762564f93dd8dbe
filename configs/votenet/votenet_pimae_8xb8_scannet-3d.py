# VoteNet on ScanNet with PiMAE's point backbone initialised from PiMAE
# (encoder layers 0..5 <- 3 point-specific + 3 shared layers). Set the
# checkpoint with --cfg-options model.init_cfg.checkpoint=PATH
_base_ = ['./votenet_pimae-backbone_8xb8_scannet-3d.py']

pimae_checkpoint = 'checkpoints/pimae_sunrgbd.pth'
model = dict(
    init_cfg=dict(type='PiMAEPretrained', checkpoint=pimae_checkpoint))
