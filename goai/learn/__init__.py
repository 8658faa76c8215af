"""Training and measuring: the run folder, the position stream, the training loop,
and held-out evaluation."""
