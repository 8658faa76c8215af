"""Game records as data: SGF files and archives in, checked game stores out.

``sources`` finds the bytes, ``sgf`` parses and writes them, ``labels`` asks GNU Go
for the dead stones of counted games, ``store``/``prepare`` write the game store the
trainer reads. No torch, here or in ``prepare``'s worker processes.
"""
