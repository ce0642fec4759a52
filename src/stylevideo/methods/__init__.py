"""One module (or small package) per paper: its LightningModule, discriminators and losses."""
