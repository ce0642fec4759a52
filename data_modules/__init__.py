"""LightningDataModules, one per dataset, on one shared base (installed as stylevideo.data_modules)."""
