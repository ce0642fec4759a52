"""Tiny StyleInV configurations shared by the StyleInV tests."""

G_ARCH = dict(resolution=32, z_dim=16, w_dim=32, mapping_layers=2, channel_base=256, channel_max=32)
ENC = dict(widths=(16, 16, 16, 32), units=(1, 1, 1, 1))
TINY = dict(
    motion_z_dim=16,
    v_dim=16,
    delta_z=4,
    kernel_size=3,
    clip_length=16,
    max_distance=8,
    d_channel_base=256,
    d_channel_max=32,
    mbstd_group=2,
    d_const_dim=8,
    ema_kimg=0.01,
    generation_chunk=4,
    **ENC,
)
