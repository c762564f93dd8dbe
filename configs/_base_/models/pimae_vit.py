# PiMAE's image-specific encoder (projects/pimae/docs/original_code.md,
# 'Encoders') as an mmpretrain ViT classifier of the 10 SUN RGB-D classes:
# 3 layers of width 256, 4 heads, FFN 1024, 16x16 patches. PiMAE's image
# branch has no cls token and no final norm, so the feature is the mean of
# the patch tokens through a LayerNorm (out_type='avg_featmap').
#
# Make the initial weights from a PiMAE checkpoint with
#   python tools/model_converters/pimae_to_mmpretrain_vit.py \
#       work_dirs/pimae/epoch_400.pth work_dirs/pimae_vit/pimae_vit.pth
# The 16x22 position table of the 256x352 pre-training is resized to the
# grid of the input (14x14 for 224x224 crops) on load
# (pretrained_img_size); a random initialisation is
# --cfg-options model.backbone.init_cfg=None.
pimae_vit_checkpoint = 'work_dirs/pimae_vit/pimae_vit.pth'

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='PiMAEVisionTransformer',
        arch=dict(
            embed_dims=256,
            num_layers=3,
            num_heads=4,
            feedforward_channels=1024),
        img_size=224,
        patch_size=16,
        pretrained_img_size=(256, 352),
        qkv_bias=True,
        norm_cfg=dict(type='LN', eps=1e-6),
        with_cls_token=False,
        final_norm=False,
        out_type='avg_featmap',
        init_cfg=dict(type='Pretrained', checkpoint=pimae_vit_checkpoint)),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=256))
