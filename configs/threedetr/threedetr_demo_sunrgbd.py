# CPU demo: 3DETR from scratch on the synthetic SUN RGB-D scenes of
# tools/create_demo_data.py, small sizes and a short schedule.
# threedetr_pimae_demo_sunrgbd.py is the same run initialised from the PiMAE
# demo checkpoint; tools/run_threedetr_demo.py trains and tests both with the
# same budget and prints AP@0.25 / AP@0.5 of both.
# The encoder (6 layers, 256-d, 4 heads, FFN 128) has the shape of the default
# PiMAE point encoder (3 specific + 3 shared layers).
_base_ = ['./threedetr_1xb8-1080e_sunrgbd-3d-10class.py']

data_root = 'data/sunrgbd_demo/'
num_points = 4000
max_epochs = 40

model = dict(
    backbone=dict(
        pre_encoder=dict(
            num_points=256, radius=0.3, num_samples=16,
            mlp_channels=(32, 64, 256)),
        encoder=dict(num_layers=6)),
    bbox_head=dict(
        embed_dims=128,
        num_queries=32,
        decoder=dict(
            num_layers=3,
            layer_cfg=dict(
                embed_dims=128, num_heads=4, feedforward_channels=128))))

# the full config's pipelines with 4000 points and without RandomCuboid
# (made for scenes of more than 30000 points)
train_pipeline = [
    dict(t, num_points=num_points) if t.type == 'PointSample' else t
    for t in _base_.train_pipeline if t.type != 'RandomCuboid'
]
test_pipeline = [
    dict(t, num_points=num_points) if t.type == 'PointSample' else t
    for t in _base_.test_pipeline
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

# a 2-epoch warm-up, then the full config's cosine to the last epoch
warmup_epochs = 2
param_scheduler = _base_.param_scheduler
param_scheduler[0].update(end=warmup_epochs)
param_scheduler[1].update(begin=warmup_epochs)
train_cfg = dict(max_epochs=max_epochs, val_begin=1, val_interval=max_epochs)
# the same seed for the scratch and the PiMAE run: only the encoder differs
randomness = dict(seed=0, diff_rank_seed=False, deterministic=False)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1, save_best=None))
