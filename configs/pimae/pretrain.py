# Short name of the default pre-training config used in the README.
_base_ = ['./pimae_8xb16-accum2-400e_sunrgbd.py']
