"""What ``goai gtp`` is told: ``GtpConfig`` from command-line options and a TOML file.

Every option has one name, used on the command line (``--resign-threshold``)
and as a config-file key (``resign-threshold`` or ``resign_threshold``); the
keys are ``GtpConfig``'s fields and ``player.PlayerConfig``'s (``visits``,
``playouts`` and ``time`` among them).

The engine searches by default: ``player.DEFAULT_VISITS`` root visits a move
when none of ``visits``, ``playouts`` and ``time`` is given
(``PlayerConfig.with_default_limit``, where the figures behind the number are);
``visits = 1`` plays the raw policy.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from goai.play.player import PlayerConfig

_DEVICE = re.compile(r"auto|cpu|mps|cuda(?::\d+)?")


def _setting(default: object, help: str, **metadata: object) -> Any:
    """A ``GtpConfig`` field: its default and its help text (``goai gtp --help``)."""
    return field(default=default, metadata={"help": help, **metadata})


@dataclass(frozen=True)
class GtpConfig:
    """Everything ``goai gtp`` is told: command-line options and config-file keys alike.

    ``model`` is None or ``"default"`` (the bundled model), another bundled
    model's name (``"small"``) or a checkpoint path; ``value_model``, named the
    same way, is a second network whose values (and scores, ownership) the
    search uses, the priors still coming from ``model`` (None: ``model``'s
    own value head); ``device`` is ``auto``,
    ``cpu``, ``cuda``, ``cuda:N`` or ``mps``; both go to ``Policy`` as given.
    ``symmetries`` is 1 or 8. ``threads`` is torch's CPU threads, 0 for
    torch's default; 1 by default because one position is too small a batch
    to share: on two busy cores a second thread made a b6c64 genmove 50x
    slower (0.74 s instead of 0.015 s), waiting on the other. ``seed`` seeds
    sampling (temperature > 0) and the search's choice of symmetries, so that
    searches limited by visits or playouts repeat exactly. ``lag_buffer`` is
    seconds kept in hand per move under time control. ``player`` defaults to a
    search of ``player.DEFAULT_VISITS`` visits. The other fields' help is their
    option's help; ``model``, ``value_model`` and ``device`` are declared by
    ``goai.cli.common.add_model_options``, as for every command.
    """

    model: str | None = None
    value_model: str | None = None
    device: str = "auto"
    symmetries: int = _setting(1, "average the network over 1 or all 8 board symmetries",
                               choices=(1, 8))
    threads: int = _setting(1, "torch CPU threads, 1 the fastest for one position (0: torch's "
                               "choice)", metavar="N", short="-t")
    seed: int | None = _setting(
        None, "seed for the search's symmetries and for sampling: with a limit by visits or "
              "playouts the same seed plays the same moves")
    lag_buffer: float = _setting(0.2, "seconds kept in hand per move under time control",
                                 metavar="SECONDS")
    log: str | None = _setting(None, "log commands, responses and timings to FILE",
                               metavar="FILE", short="-l")
    verbose: bool = _setting(False, "log to stderr (off by default: Lizzie shows stderr as "
                                    "output)", short="-v")
    player: PlayerConfig = field(default_factory=PlayerConfig.with_default_limit,
                                 metadata={"command_line": False})

    def __post_init__(self) -> None:
        if self.symmetries not in (1, 8):
            raise ValueError(f"symmetries must be 1 or 8, not {self.symmetries}")
        if self.threads < 0 or not self.lag_buffer >= 0:
            raise ValueError("threads and lag_buffer must not be negative")
        if not _DEVICE.fullmatch(self.device):
            raise ValueError(f"device must be auto, cpu, cuda, cuda:N or mps, not {self.device!r}")

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> GtpConfig:
        """Build from option names (``resign-threshold`` or ``resign_threshold``) and values.

        Keys are this class's fields (but ``player``) and ``PlayerConfig``'s
        fields. Without ``visits``, ``playouts`` or ``time`` the player searches
        ``player.DEFAULT_VISITS`` visits. Raises ``ValueError`` for an unknown key or a
        value of the wrong type or range.
        """
        player_fields = {f.name: f.type for f in fields(PlayerConfig)}
        own_fields = {f.name: f.type for f in fields(cls) if f.name != "player"}
        engine: dict[str, object] = {}
        player: dict[str, object] = {}
        for key, value in options.items():
            name = key.replace("-", "_")
            if name == "level" and isinstance(value, int) and not isinstance(value, bool):
                value = str(value)  # level = 2 in a TOML file names level "2"
            if name in own_fields:
                engine[name] = _checked(key, value, own_fields[name])
            elif name in player_fields:
                player[name] = _checked(key, value, player_fields[name])
            else:
                raise ValueError(f"unknown option {key!r}")
        return cls(**engine, player=PlayerConfig.with_default_limit(**player))


def _checked(key: str, value: object, declared: str) -> object:
    """``value`` converted to the declared type (``int``, ``float``, ``str | None``...)."""
    if value is None and "None" in declared:
        return None
    if declared.startswith("bool"):
        ok = isinstance(value, bool)
    elif declared.startswith("int"):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif declared.startswith("float"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value  # type: ignore[arg-type]
    else:
        ok = isinstance(value, str)
    if not ok:
        raise ValueError(f"option {key!r} must be {declared}, not {value!r}")
    return value


def is_model_path(model: str) -> bool:
    """Does ``model`` name a file (a separator or a suffix), not a bundled model (``small``)?"""
    return os.sep in model or "/" in model or Path(model).suffix != ""


def load_config_file(path: str | Path) -> dict[str, object]:
    """Options from a TOML file with the command line's long option names as keys.

    ``log`` and a ``model`` or ``value-model`` that is a path (``nets/best.pt``,
    not ``small``) are taken relative to the file's folder, so a config file next to the
    weights works from any working directory (GUIs start engines in their
    own). Raises ``ValueError`` for unreadable TOML.
    """
    path = Path(path)
    try:
        options: dict[str, object] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"cannot read config file {path}: {error}") from None
    if "weights" in options:
        options["model"] = options.pop("weights")
    for key in ("model", "log", "value-model", "value_model"):
        value = options.get(key)
        if isinstance(value, str) and (key == "log" or is_model_path(value)):
            options[key] = str(path.parent / Path(value).expanduser())
    return options


__all__ = ["GtpConfig", "is_model_path", "load_config_file"]
