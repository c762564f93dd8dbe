# PiMAE-initialised 3DETR with layer-wise lr decay (mmpretrain's
# LearningRateDecayOptimWrapperConstructor; ThreeDETR.get_layer_depth gives
# the depths): the head trains at the base lr, encoder layer i (of 6) at
# lr * 0.75 ** (6 - i) and the PointNet++ pre-encoder at lr * 0.75 ** 7.
# Weight decay stays 0.1 on every parameter, as in 3DETR.
_base_ = ['./threedetr_pimae_sunrgbd.py']

optim_wrapper = dict(
    constructor='mmpretrain.LearningRateDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.75))
