# 3DETR fine-tuned from PiMAE on SUN RGB-D v1 (10 classes): the 3 point-
# specific + 3 shared PiMAE layers initialise a 6-layer encoder
# (backbone.encoder.layers.0..5); everything else starts from scratch.
# Same recipe as the scratch baseline (PiMAE's --encoder_learning_rate is
# ignored by 3DETR's scheduler, so the encoder trains at the base lr).
# Set the checkpoint with
#   --cfg-options model.init_cfg.checkpoint=work_dirs/pretrain/epoch_400.pth
# For layer-wise lr decay see threedetr_pimae_layer-decay-0.75_sunrgbd.py.
_base_ = ['./threedetr_1xb8-1080e_sunrgbd-3d-10class.py']

pimae_checkpoint = 'checkpoints/pimae_sunrgbd.pth'
model = dict(
    backbone=dict(encoder=dict(num_layers=6)),
    init_cfg=dict(type='PiMAEPretrained', checkpoint=pimae_checkpoint))
