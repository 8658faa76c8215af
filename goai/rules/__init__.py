"""The game of Go itself: points, stones, moves, symmetry, who owns what at the end.

The lowest layer. Pure Python and numpy: no torch, no files, no processes.
"""
