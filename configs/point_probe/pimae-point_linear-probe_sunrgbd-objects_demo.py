# CPU demo of pimae-point_linear-probe_sunrgbd-objects.py on the generated
# scenes of tools/create_demo_data.py (10 SUN RGB-D classes), from the PiMAE
# demo checkpoint (tools/demo.sh writes it): a short schedule, the frozen
# encoder + BatchNorm + linear head of the full config.
#   python tools/train.py \
#       configs/point_probe/pimae-point_linear-probe_sunrgbd-objects_demo.py
#   python tools/analysis_tools/point_probe_knn.py \
#       configs/point_probe/pimae-point_linear-probe_sunrgbd-objects_demo.py
_base_ = ['./pimae-point_linear-probe_sunrgbd-objects.py']

data_root = 'data/sunrgbd_demo/'
pimae_checkpoint = 'work_dirs/pimae_demo/epoch_10.pth'

model = dict(
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint=pimae_checkpoint)))

train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    dataset=dict(data_root=data_root))
val_dataloader = dict(
    batch_size=32,
    num_workers=1,
    dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

max_epochs = 12
# a 2-epoch warm-up from 1e-3 x lr, then the cosine to 0 at the last epoch
param_scheduler = _base_.param_scheduler
param_scheduler[0].update(start_factor=1e-3, end=2)
param_scheduler[1].update(begin=2)
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])
