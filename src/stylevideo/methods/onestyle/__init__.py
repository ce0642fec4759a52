"""onestyle (Manandhar & Genovesio, WACV 2024): one temporal style generates a video."""
