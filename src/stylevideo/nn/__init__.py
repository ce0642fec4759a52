"""Building blocks shared by two or more methods (StyleGAN2, ADA, encoders, temporal encodings, ...)."""
