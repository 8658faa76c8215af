"""goai: SGF game records -> 19x19 board tensors -> a pooling-free residual CNN -> GTP."""

__version__ = "0.1.0"
