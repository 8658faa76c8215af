"""The README's layer table is true: every import in goai points down it.

``goai/`` has one folder per layer, and the table in README.md's "How it fits
together" lists them lowest first, each folder's modules in order. These tests
read that table (so the README cannot drift from the code) and check:

* every module of every folder has a row, in the folder it sits in, and no row is
  listed twice;
* each import of a goai module names a module in a row above the importer. Imports
  are found by parsing with ``ast``: ``import``/``from`` statements anywhere
  (inside functions and under ``TYPE_CHECKING`` too: a lazy import is still a
  dependency), and ``importlib.import_module(...)``/``__import__(...)`` calls. A
  call whose module name is not a constant fails, since nothing could check it;
* a folder's ``__init__`` (its face) imports only its own folder's modules (and
  ``old_paths.hand_on``, which reads an old module's names from one of them);
* nothing below ``nn/``, nor ``nn/features``, imports torch (under ``TYPE_CHECKING``
  aside, which never runs), except ``rules/symmetry`` inside a function handed a tensor;
* importing each module alone, in a fresh interpreter, loads no goai module from a
  row below it in the table, and the torch-free ones load no torch. This catches
  what the parse cannot see;
* and the checks can fail: a copy of the package with an upward import or a torch
  import slipped into the rules is caught by each of them.

Rows for modules that do not exist (yet) are allowed: parallel branches add them.
A module that exists but has no row fails.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Package machinery rather than concepts: __init__ is the package itself (the version,
# the gymnasium registration, the old paths' hook), __main__ only runs the command line,
# old_paths maps the flat package's module names to their folders by name at run time.
MACHINERY = {"__init__", "__main__", "old_paths"}
TORCH_FREE_FOLDERS = ("rules", "display", "gtp", "records")
TORCH_FREE_MODULES = {"nn/features"}
LAZY_TORCH = {"rules/symmetry"}  # imports torch only inside the function handed a tensor
# Calls that load a module named by a string; old_paths.hand_on names it last.
DYNAMIC_CALLS = {"import_module", "__import__", "hand_on"}


def layer_table(readme: str) -> list[tuple[str, str]]:
    """(folder, module) for each row of the README's layer table, top row first.

    A row with an empty layer cell belongs to the folder named above it.
    """
    section = readme.split("## How it fits together", 1)[1].split("\n## ", 1)[0]
    rows = []
    in_table, folder = False, ""
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
        folder = cells[0].strip("*").rstrip("/") or folder
        module = re.fullmatch(r"`(\w+)`", cells[1])
        assert module is not None, f"a row of the layer table names no module: {line}"
        rows.append((folder, module.group(1)))
    return rows


@dataclass(frozen=True)
class Import:
    line: int
    module: str  # "goai.rules.board", "torch.nn", "?" (a name only known at run time)
    in_function: bool
    type_checking: bool


def imports_of(source: str, package: dict[str, set[str]]) -> list[Import]:
    """Every import in ``source``. ``package`` maps each folder of goai to its modules,
    so that ``from goai.rules import board`` resolves to ``goai.rules.board`` (and
    ``from goai.search import Search`` to the face ``goai.search``)."""
    found: list[Import] = []

    def resolve(base: str, name: str) -> str:
        parts = base.split(".")
        if parts[0] == "goai" and len(parts) == 1 and name in package:
            return f"goai.{name}"
        if parts[0] == "goai" and len(parts) == 2 and name in package.get(parts[1], ()):
            return f"{base}.{name}"
        return base

    def visit(node: ast.AST, in_function: bool, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend(Import(child.lineno, alias.name, in_function, type_checking)
                             for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    raise AssertionError(f"line {child.lineno}: goai imports by full path")
                found.extend(Import(child.lineno, resolve(base, alias.name), in_function,
                                    type_checking) for alias in child.names)
            elif isinstance(child, ast.Call) and _called_name(child.func) in DYNAMIC_CALLS:
                argument = (child.args[-1] if _called_name(child.func) == "hand_on"
                            else child.args[0]) if child.args else None
                name = (argument.value if isinstance(argument, ast.Constant)
                        and isinstance(argument.value, str) else "?")
                found.append(Import(child.lineno, name, in_function, type_checking))
            inner_function = in_function or isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            inner_checking = type_checking or (
                isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test))
            visit(child, inner_function, inner_checking)

    visit(ast.parse(source), False, False)
    return found


def _called_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def package_layout(root: Path) -> dict[str, set[str]]:
    """folder -> its modules (without ``__init__``), for every folder of ``root/goai``."""
    return {folder.name: {path.stem for path in folder.glob("*.py")} - {"__init__"}
            for folder in sorted((root / "goai").iterdir())
            if (folder / "__init__.py").exists()}


def sources(root: Path) -> dict[str, str]:
    """'folder/module' (or 'folder/__init__') -> source, for every module in a folder."""
    return {f"{path.parent.name}/{path.stem}": path.read_text()
            for path in sorted((root / "goai").glob("*/*.py"))}


def layer_violations(root: Path, table: list[tuple[str, str]]) -> list[str]:
    """Each import that does not point up the table (or that cannot be checked)."""
    package = package_layout(root)
    code = sources(root)
    row = {f"{folder}/{module}": number for number, (folder, module) in enumerate(table)}
    wrong = []
    for name in sorted(set(code) - set(row)):
        if not name.endswith("/__init__"):
            wrong.append(f"goai/{name}.py has no row in the README's layer table")
    for name, source in code.items():
        folder, module = name.split("/")
        for item in imports_of(source, package):
            where = f"goai/{name}.py:{item.line} imports {item.module}"
            parts = item.module.split(".")
            if item.module == "?":
                wrong.append(f"{where}: a module named at run time, which no check can follow")
            elif parts[0] != "goai" or len(parts) == 1:
                continue  # another package, or goai itself (the version)
            elif module == "__init__":
                if parts[1] not in (folder, "old_paths"):
                    wrong.append(f"{where}: a folder's face imports only its own folder")
            elif parts[1] in MACHINERY:
                wrong.append(f"{where}: package machinery, not a layer")
            else:
                target = "/".join(parts[1:3])
                if len(parts) == 2:  # a face: it stands for the modules it hands on
                    face = imports_of(code.get(f"{parts[1]}/__init__", ""), package)
                    targets = ["/".join(i.module.split(".")[1:3]) for i in face
                               if i.module.startswith(f"goai.{parts[1]}.")]
                    target = max(targets, key=lambda t: row.get(t, -1), default=target)
                if target not in row:
                    wrong.append(f"{where}, which has no row in the table")
                elif name in row and row[target] >= row[name]:
                    wrong.append(f"{where}, which is not above it in the table")
    return wrong


def torch_free(table: list[tuple[str, str]]) -> list[str]:
    return [f"{folder}/{module}" for folder, module in table
            if folder in TORCH_FREE_FOLDERS or f"{folder}/{module}" in TORCH_FREE_MODULES]


def torch_violations(root: Path, table: list[tuple[str, str]]) -> list[str]:
    """Each torch import in a torch-free module (symmetry's lazy one excepted)."""
    package = package_layout(root)
    code = sources(root)
    return [f"goai/{name}.py:{item.line} imports {item.module}"
            for name in torch_free(table) if name in code
            for item in imports_of(code[name], package)
            if item.module.split(".")[0] == "torch"
            and not item.type_checking  # never runs
            and not (name in LAZY_TORCH and item.in_function)]


IMPORT_ALONE = textwrap.dedent("""
    import importlib, json, sys
    name = sys.argv[1]
    importlib.import_module(name)
    print(json.dumps({"file": sys.modules["goai"].__file__,
                      "loaded": sorted(m for m in sys.modules if m.startswith("goai.")),
                      "torch": "torch" in sys.modules}))
    """)


def runtime_violations(root: Path, table: list[tuple[str, str]],
                       names: list[str] | None = None) -> list[str]:
    """Import each module (``names``, default all) alone in a fresh interpreter: it may
    load only rows above it (and the faces of their folders); a torch-free one, no torch."""
    import json

    row = {f"{folder}/{module}": number for number, (folder, module) in enumerate(table)}
    code = sources(root)
    free = set(torch_free(table))
    environment = {**os.environ, "PYTHONPATH": str(root)}
    wrong = []
    for name in names or [n for n in row if n in code]:
        dotted = "goai." + name.replace("/", ".")
        done = subprocess.run([sys.executable, "-c", IMPORT_ALONE, dotted], cwd=root,
                              capture_output=True, text=True, timeout=120, env=environment)
        if done.returncode != 0:
            wrong.append(f"importing {dotted} alone failed: {done.stderr.strip()[-300:]}")
            continue
        seen = json.loads(done.stdout.splitlines()[-1])
        assert Path(seen["file"]).resolve().is_relative_to(root.resolve()), seen["file"]
        for loaded in seen["loaded"]:
            parts = loaded.split(".")
            if parts[1] in MACHINERY or len(parts) == 2:
                continue  # the package's machinery, or a folder's face (its modules count)
            other = "/".join(parts[1:3])
            if other != name and row.get(other, len(row)) >= row[name]:
                wrong.append(f"importing {dotted} alone loads {loaded}, not above it")
        if name in free and seen["torch"]:
            wrong.append(f"importing {dotted} alone loads torch")
    return wrong


@pytest.fixture(scope="module")
def table() -> list[tuple[str, str]]:
    return layer_table((ROOT / "README.md").read_text())


def test_every_module_has_one_row_in_its_folder(table: list[tuple[str, str]]) -> None:
    names = [f"{folder}/{module}" for folder, module in table]
    assert len(names) == len(set(names)), "a module is listed twice"
    folders = list(dict.fromkeys(folder for folder, _ in table))
    assert [folder for folder, _ in table] == sorted(
        (folder for folder, _ in table), key=folders.index), "a folder's rows are split"
    layout = package_layout(ROOT)
    assert set(layout) == set(folders), "each folder of goai is a layer of the table"
    missing = {f"{folder}/{module}" for folder, modules in layout.items()
               for module in modules} - set(names)
    assert not missing, f"goai modules missing from the README's layer table: {sorted(missing)}"
    loose = {path.stem for path in (ROOT / "goai").glob("*.py")} - MACHINERY
    assert not loose, f"modules outside any layer folder: {sorted(loose)}"
    assert folders[0] == "rules"


def test_every_import_points_down_the_table(table: list[tuple[str, str]]) -> None:
    wrong = layer_violations(ROOT, table)
    assert not wrong, "\n".join(wrong)


def test_the_torch_free_layers_import_torch_nowhere(table: list[tuple[str, str]]) -> None:
    names = set(torch_free(table))
    assert {"rules/coords", "rules/board", "rules/game", "records/sgf", "nn/features",
            "rules/symmetry", "records/prepare", "records/store"} <= names
    wrong = torch_violations(ROOT, table)
    assert not wrong, "\n".join(wrong)


def test_each_module_imported_alone_loads_only_what_is_above_it(
        table: list[tuple[str, str]]) -> None:
    wrong = runtime_violations(ROOT, table)
    assert not wrong, "\n".join(wrong)


def test_the_rules_layer_reads_replays_encodes_and_draws_without_torch(
        table: list[tuple[str, str]]) -> None:
    script = textwrap.dedent(f"""
        import sys
        from goai.nn.features import encode
        from goai.display.plot import board_frame
        from goai.display.render import render_board
        from goai.records.sgf import parse_sgf
        from goai.rules.symmetry import transform_planes
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


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """goai's source (without the bundled weights) and README, copied to mutate."""
    root = tmp_path_factory.mktemp("copy")
    shutil.copytree(ROOT / "goai", root / "goai",
                    ignore=shutil.ignore_patterns("*.pt", "__pycache__"))
    shutil.copy(ROOT / "README.md", root / "README.md")
    return root


def _mutated(root: Path, module: str, tail: str, name: str) -> Path:
    copy = root.parent / name
    if not copy.exists():
        shutil.copytree(root, copy)
        path = copy / "goai" / f"{module}.py"
        path.write_text(path.read_text() + textwrap.dedent(tail))
    return copy


def test_the_checks_catch_an_upward_import_by_importlib(
        package_copy: Path, table: list[tuple[str, str]]) -> None:
    """Issue 24's probe: the game module asks importlib for the search. The parse sees
    the face ``goai.search`` itself; importing the game alone shows the tree loaded when
    a module of the search is named (the face alone loads its modules only when a name
    is asked for)."""
    assert not layer_violations(package_copy, table)
    face = _mutated(package_copy, "rules/game", """
        import importlib
        importlib.import_module("goai.search")
        """, "upward-face")
    static = layer_violations(face, table)
    assert any(v.startswith("goai/rules/game.py:") and "goai.search" in v for v in static)
    copy = _mutated(package_copy, "rules/game", """
        import importlib
        importlib.import_module("goai.search.tree")
        """, "upward")
    static = layer_violations(copy, table)
    assert any(v.startswith("goai/rules/game.py:") and "goai.search.tree" in v for v in static)
    loaded = runtime_violations(copy, table, ["rules/game"])
    assert any("goai.search.tree" in v for v in loaded), loaded


def test_the_checks_catch_a_module_named_at_run_time(
        package_copy: Path, table: list[tuple[str, str]]) -> None:
    copy = _mutated(package_copy, "rules/board", """
        def _later(name):
            return __import__("goai." + name)
        """, "computed")
    assert any("named at run time" in v for v in layer_violations(copy, table))


def test_the_checks_catch_torch_by_dunder_import(
        package_copy: Path, table: list[tuple[str, str]]) -> None:
    """Issue 24's second probe: ``__import__("torch")`` in the board module."""
    assert not torch_violations(package_copy, table)
    copy = _mutated(package_copy, "rules/board", """
        __import__("torch")
        """, "torch")
    assert any(v.startswith("goai/rules/board.py:") for v in torch_violations(copy, table))
    assert any("loads torch" in v for v in runtime_violations(copy, table, ["rules/board"]))


def test_the_lazy_torch_exemption_is_symmetry_alone(
        package_copy: Path, table: list[tuple[str, str]]) -> None:
    copy = _mutated(package_copy, "rules/game", """
        def _tensor_only():
            import torch
            return torch
        """, "lazy")
    assert any(v.startswith("goai/rules/game.py:") for v in torch_violations(copy, table))


def test_the_check_sees_lazy_and_type_checking_imports() -> None:
    """The parser the tests above rely on finds imports wherever they hide."""
    source = textwrap.dedent("""
        from typing import TYPE_CHECKING
        from goai import __version__, rules
        from goai.rules import board
        import goai.rules.coords
        import importlib
        if TYPE_CHECKING:
            from goai.nn.policy import Policy
        def later():
            import torch
            from goai.search import Search
            importlib.import_module("goai.play.player")
            __import__(name)
        """)
    package = {"rules": {"board", "coords"}, "nn": {"policy"}, "search": {"tree"},
               "play": {"player"}}
    found = {(item.module, item.in_function, item.type_checking)
             for item in imports_of(source, package)}
    assert found == {("typing", False, False), ("goai", False, False),
                     ("goai.rules", False, False), ("goai.rules.board", False, False),
                     ("goai.rules.coords", False, False), ("importlib", False, False),
                     ("goai.nn.policy", False, True), ("torch", True, False),
                     ("goai.search", True, False), ("goai.play.player", True, False),
                     ("?", True, False)}


def test_the_table_reader_carries_the_folder_down() -> None:
    readme = textwrap.dedent("""
        ## How it fits together

        | layer | module | concept |
        |---|---|---|
        | **rules/** | `coords` | points |
        | | `board` | stones |
        | **nn/** | `model` | the network |

        ## Next section
        | layer | module | concept |
        |---|---|---|
        | **elsewhere/** | `other` | not read |
        """)
    assert layer_table(readme) == [("rules", "coords"), ("rules", "board"), ("nn", "model")]
