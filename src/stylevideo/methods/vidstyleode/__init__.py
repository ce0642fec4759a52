"""VidStyleODE (Haji Ali et al., ICCV 2023): disentangled video editing via StyleGAN and neural ODEs."""
