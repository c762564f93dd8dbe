# 3DETR fine-tuned from PiMAE on ScanNetV2 (18 classes): 6-layer encoder
# initialised from the PiMAE point encoder (3 specific + 3 shared layers).
# PiMAE ships no ScanNet script; this uses 3DETR's ScanNet recipe.
#   --cfg-options model.init_cfg.checkpoint=work_dirs/pretrain/epoch_400.pth
_base_ = ['./threedetr_1xb8-1080e_scannet-3d-18class.py']

pimae_checkpoint = 'checkpoints/pimae_sunrgbd.pth'
model = dict(
    backbone=dict(encoder=dict(num_layers=6)),
    init_cfg=dict(type='PiMAEPretrained', checkpoint=pimae_checkpoint))
