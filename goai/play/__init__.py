"""Playing games: the move choice (``player``), and what is built on it: the
terminal game, the review, matches between engines, the gymnasium environment.

The names of ``goai.play`` before the package had folders (``TerminalGame``,
``PlayConfig``, ...) are still read from here: they live in ``terminal``.
"""

from goai.old_paths import hand_on

__getattr__ = hand_on(__name__, "goai.play.terminal")
