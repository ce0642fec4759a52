"""Reading and writing video files, frame sampling, the synthetic dataset."""
