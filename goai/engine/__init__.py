"""goai's GTP engine (``goai gtp``): its options, the game's command handlers,
analysis output for Lizzie, Sabaki, KaTrain and GoGui, and the clock."""
