"""LIA (Wang et al., ICLR 2022): Latent Image Animator."""
