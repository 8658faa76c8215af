"""``goai serve``: the browser board. ``app`` is the HTTP/WebSocket server,
``session`` one game or review per browser, ``web/`` the page itself.

The names of ``goai.serve`` before the package had folders (``ServeConfig``,
``create_app``, ...) are still read from here: they live in ``app``.
"""

from goai.old_paths import hand_on

__getattr__ = hand_on(__name__, "goai.serve.app")
