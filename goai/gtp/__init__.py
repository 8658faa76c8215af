"""The Go Text Protocol, both sides: the server's framing and argument parsing
(``protocol``) and the controller that drives an engine in a subprocess (``client``).

It sits low because the records layer drives GNU Go through ``client`` to label
games; goai's own engine, which needs the search, is ``goai.engine`` above. The
names of ``goai.gtp`` before the package had folders (``GtpError``, ``GtpServer``,
``parse_vertex``, ...) are still read from here: they live in ``protocol``.
"""

from goai.old_paths import hand_on

__getattr__ = hand_on(__name__, "goai.gtp.protocol")
