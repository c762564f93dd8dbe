# CPU demo: threedetr_demo_sunrgbd.py with the 6 encoder layers initialised
# from the PiMAE demo checkpoint (tools/demo.sh writes it):
#   python tools/train.py configs/threedetr/threedetr_pimae_demo_sunrgbd.py \
#     --cfg-options model.init_cfg.checkpoint=work_dirs/pimae_demo/epoch_10.pth
_base_ = ['./threedetr_demo_sunrgbd.py']

model = dict(
    init_cfg=dict(
        type='PiMAEPretrained',
        checkpoint='work_dirs/pimae_demo/epoch_10.pth'))
