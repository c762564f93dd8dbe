# GroupFree3D (L6-O256) on ScanNet with PiMAE's point backbone initialised
# from PiMAE (encoder layers 0..5 <- 3 point-specific + 3 shared layers).
# Set the checkpoint with --cfg-options model.init_cfg.checkpoint=PATH
_base_ = ['./groupfree3d_pimae-backbone_head-L6-O256_4xb8_scannet-seg.py']

pimae_checkpoint = 'checkpoints/pimae_sunrgbd.pth'
model = dict(
    init_cfg=dict(type='PiMAEPretrained', checkpoint=pimae_checkpoint))
