"""goai: SGF game records -> 19x19 board tensors -> a pooling-free residual CNN -> GTP."""

import gymnasium as _gymnasium

__version__ = "0.1.0"

# Importing goai registers the gymnasium environment goai/Go-v0. The string
# entry point defers importing goai.env (which does not import torch) to
# gymnasium.make(); the cost here is importing gymnasium, about 0.1 s, mostly
# numpy, which goai needs anyway. The check keeps importlib.reload(goai) from
# registering it twice (gymnasium would warn).
if "goai/Go-v0" not in _gymnasium.registry:
    _gymnasium.register(id="goai/Go-v0", entry_point="goai.env:GoEnv")
