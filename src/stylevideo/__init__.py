"""stylevideo: four latent-space video generation papers under one Lightning trainer."""

__version__ = "0.1.0"
