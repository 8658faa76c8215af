"""The README's layer table is true: every import in goai points down it.

The table in README.md's "How it fits together" lists goai's modules lowest
layer first. These tests read that table (so the README cannot drift from the
code), parse every ``goai/*.py`` with ``ast`` (imports inside functions and
under ``TYPE_CHECKING`` included: a lazy import is still a dependency) and check:

* every module of the package has a row, and no row is listed twice;
* each import of a goai module names a module in a row above the importer;
* the rules-and-records layer never loads torch: no torch import runs when
  one of its modules is imported (``symmetry`` may import it inside a function
  that is handed a tensor), and a subprocess that reads, replays, encodes and
  draws a game with that layer alone ends without torch in ``sys.modules``.

Rows for modules that do not exist (yet) are allowed: parallel branches add
them. A module that exists but has no row fails.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "goai"
RULES_LAYER = "rules and records"
# Package machinery rather than concepts: __init__ is the package itself (any module may
# import it, so it imports no goai module), __main__ only runs the command line.
NOT_IN_TABLE = {"__init__", "__main__"}


def layer_table(readme: str) -> list[tuple[str, str]]:
    """(layer, module) for each row of the README's layer table, top row first.

    A row with an empty layer cell belongs to the layer named above it.
    """
    section = readme.split("## How it fits together", 1)[1].split("\n## ", 1)[0]
    rows = []
    in_table, layer = False, ""
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|"):
            in_table = False
            continue
        if cells[:2] == ["layer", "module"]:
            in_table = True
            continue
        if not in_table or set(line) <= set("|-: "):
            continue
        layer = cells[0].strip("*") or layer
        module = re.fullmatch(r"`(\w+)`", cells[1])
        assert module is not None, f"a row of the layer table names no module: {line}"
        rows.append((layer, module.group(1)))
    return rows


@dataclass(frozen=True)
class Import:
    line: int
    module: str  # "goai.board", "torch.nn", ...
    in_function: bool
    type_checking: bool


def imports_of(source: str, package_modules: set[str]) -> list[Import]:
    """Every import in ``source``, with ``from goai import x`` resolved to ``goai.x``
    when ``x`` is a module of the package (else it is the package itself)."""
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend(Import(child.lineno, alias.name, in_function, type_checking)
                             for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:  # relative: from . import x / from .x import y
                    base = "goai" + (f".{base}" if base else "")
                if base == "goai":
                    found.extend(Import(child.lineno, f"goai.{alias.name}"
                                        if alias.name in package_modules else "goai",
                                        in_function, type_checking) for alias in child.names)
                else:
                    found.append(Import(child.lineno, base, in_function, type_checking))
            inner_function = in_function or isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            inner_checking = type_checking or (
                isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test))
            visit(child, inner_function, inner_checking)

    visit(ast.parse(source), False, False)
    return found


def _package_modules() -> dict[str, str]:
    return {path.stem: path.read_text() for path in sorted(PACKAGE.glob("*.py"))}


@pytest.fixture(scope="module")
def table() -> list[tuple[str, str]]:
    return layer_table((ROOT / "README.md").read_text())


def test_every_module_has_one_row(table: list[tuple[str, str]]) -> None:
    names = [module for _, module in table]
    assert len(names) == len(set(names)), "a module is listed twice"
    missing = set(_package_modules()) - NOT_IN_TABLE - set(names)
    assert not missing, f"goai modules missing from the README's layer table: {sorted(missing)}"
    assert [layer for layer, _ in table][0] == RULES_LAYER


def test_every_import_points_down_the_table(table: list[tuple[str, str]]) -> None:
    row = {module: number for number, (_, module) in enumerate(table)}
    sources = _package_modules()
    wrong = []
    for name, source in sources.items():
        for item in imports_of(source, set(sources)):
            parts = item.module.split(".")
            if parts[0] != "goai" or len(parts) == 1:
                continue  # another package, or goai itself (its __init__)
            target = parts[1]
            where = f"goai/{name}.py:{item.line} imports goai.{target}"
            if name == "__init__":
                wrong.append(f"{where}: the package itself imports no module")
            elif target not in row:
                wrong.append(f"{where}, which has no row in the table")
            elif name in row and row[target] >= row[name]:  # __main__ may import cli
                wrong.append(f"{where}, which is not above it in the table")
    assert not wrong, "\n".join(wrong)


def test_the_rules_layer_imports_torch_nowhere_at_import_time(
        table: list[tuple[str, str]]) -> None:
    sources = _package_modules()
    rules = [module for layer, module in table if layer == RULES_LAYER and module in sources]
    assert {"coords", "board", "game", "sgf", "features", "symmetry"} <= set(rules)
    wrong = [f"goai/{name}.py:{item.line} imports {item.module}"
             for name in rules for item in imports_of(sources[name], set(sources))
             if item.module.split(".")[0] == "torch"
             and not (item.in_function or item.type_checking)]
    assert not wrong, "\n".join(wrong)


def test_the_rules_layer_reads_replays_encodes_and_draws_without_torch(
        table: list[tuple[str, str]]) -> None:
    sources = _package_modules()
    rules = [module for layer, module in table if layer == RULES_LAYER and module in sources]
    script = textwrap.dedent(f"""
        import importlib, sys
        for name in {rules!r}:
            importlib.import_module("goai." + name)
        from goai.features import encode
        from goai.plot import board_frame
        from goai.render import render_board
        from goai.sgf import parse_sgf
        from goai.symmetry import transform_planes
        record = next(parse_sgf(open({str(ROOT / "data" / "sample-game.sgf")!r}, "rb").read()))
        positions = 0
        for state, _, _ in record.replay():
            planes = transform_planes(encode(state), 5)
            positions += 1
        render_board(state.board, state.last_move)
        board_frame(state.board)
        assert positions == len(record.moves) > 100, positions
        sys.exit("the rules layer loaded torch" if "torch" in sys.modules else 0)
        """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_check_sees_lazy_and_type_checking_imports() -> None:
    """The parser the tests above rely on finds imports wherever they hide."""
    source = textwrap.dedent("""
        from typing import TYPE_CHECKING
        from goai import __version__, board
        import goai.coords
        if TYPE_CHECKING:
            from goai.policy import Policy
        def later():
            import torch
            from .cli import main
        """)
    found = {(item.module, item.in_function, item.type_checking)
             for item in imports_of(source, {"board", "coords", "policy", "cli"})}
    assert found == {("typing", False, False), ("goai", False, False),
                     ("goai.board", False, False), ("goai.coords", False, False),
                     ("goai.policy", False, True), ("torch", True, False),
                     ("goai.cli", True, False)}


def test_the_table_reader_carries_the_layer_down() -> None:
    readme = textwrap.dedent("""
        ## How it fits together

        | layer | module | concept |
        |---|---|---|
        | **rules and records** | `coords` | points |
        | | `board` | stones |
        | **learning** | `model` | the network |

        ## Next section
        | layer | module | concept |
        |---|---|---|
        | **elsewhere** | `other` | not read |
        """)
    assert layer_table(readme) == [("rules and records", "coords"),
                                   ("rules and records", "board"), ("learning", "model")]
