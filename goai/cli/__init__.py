"""The ``goai`` command: ``parser`` (the parser, the list of subcommands, ``main``)
and one module per group of subcommands.

``goai.cli:main`` stays the console script's entry point (installs made before the
package had folders name it), so ``main`` and the old flat module's other names are
read from ``parser`` here.
"""

from goai.old_paths import hand_on

__getattr__ = hand_on(__name__, "goai.cli.parser")
