# CPU demo: votenet_pimae-backbone_demo_sunrgbd-3d.py with the 6 encoder
# layers initialised from the PiMAE demo checkpoint (tools/demo.sh writes it):
#   python tools/train.py configs/votenet/votenet_pimae_demo_sunrgbd-3d.py \
#     --cfg-options model.init_cfg.checkpoint=work_dirs/pimae_demo/epoch_10.pth
_base_ = ['./votenet_pimae-backbone_demo_sunrgbd-3d.py']

model = dict(
    init_cfg=dict(
        type='PiMAEPretrained',
        checkpoint='work_dirs/pimae_demo/epoch_10.pth'))
