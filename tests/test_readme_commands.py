"""Every `goai ...` command line and option the README shows is one the real parsers take.

The README once named ``--window MINUTES``, which goai train refused as
ambiguous (``--window-minutes`` or ``--window-steps``). Here:

* every ``goai`` command in a ``bash`` code block (continued lines joined,
  comments dropped, split at ``&&``, ``|`` and ``;``) is parsed by
  ``goai.cli.parser.build_parser()``, as the shell would hand it over;
* every inline code span that starts with ``goai COMMAND`` (the command table,
  the prose) names only options that COMMAND has, written out in full;
* every other ``--option`` in the README is an option of some goai command, of a
  script in ``scripts/``, or of one of the outside tools the README shows.
"""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from goai import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9_-]*")
# Options of the other programs the README shows: pip, npm, GNU Go, torchrun, pytest, curl.
OUTSIDE = {"--index-url", "--prefix", "--mode", "--level", "--chinese-rules", "--seed",
           "--nproc_per_node"}


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings}


def code_block_commands(text: str) -> list[list[str]]:
    """The words of every ``goai`` command in the README's ``bash`` blocks."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            command: list[str] = []
            for word in [*words, ";"]:
                if word in ("&&", "|", ";", "||"):
                    if command[:1] == ["goai"]:
                        commands.append(command)
                    command = []
                else:
                    command.append(word)
    return commands


def inline_goai_spans(text: str) -> list[str]:
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    return [span for span in re.findall(r"`([^`\n]+)`", prose) if span.startswith("goai ")]


def test_the_readme_shows_goai_commands_to_check() -> None:
    assert len(code_block_commands(README)) >= 10
    assert len(inline_goai_spans(README)) >= 15


@pytest.mark.parametrize("words", code_block_commands(README), ids=" ".join)
def test_every_goai_command_in_a_code_block_parses(words: list[str]) -> None:
    try:
        cli.build_parser().parse_args(words[1:])
    except SystemExit as error:  # argparse's usage error, printed on stderr
        pytest.fail(f"the README's command is refused: {shlex.join(words)} (exit {error.code})")


@pytest.mark.parametrize("span", inline_goai_spans(README))
def test_every_inline_goai_command_names_its_own_options(span: str) -> None:
    words = span.split()
    parsers = _subparsers()
    if len(words) < 2 or words[1].startswith("-") or words[1].isupper():
        return  # bare goai, goai --help, goai COMMAND --help
    assert words[1] in parsers, f"`{span}`: no command {words[1]!r}"
    unknown = set(OPTION.findall(span)) - _options(parsers[words[1]])
    assert not unknown, f"`{span}`: goai {words[1]} has no {', '.join(sorted(unknown))}"


def test_every_option_the_readme_names_exists_somewhere() -> None:
    known = set(OUTSIDE)
    for parser in [cli.build_parser(), *_subparsers().values()]:
        known |= _options(parser)
    for script in [*(ROOT / "scripts").glob("*.py"), *(ROOT / "scripts").glob("*.sh")]:
        known |= set(OPTION.findall(script.read_text(encoding="utf-8")))
    unknown = sorted(set(OPTION.findall(README)) - known)
    assert not unknown, f"the README names options no parser has: {', '.join(unknown)}"


def paragraph_options(text: str) -> list[tuple[tuple[str, ...], str]]:
    """(the ``scripts/`` files named before it in its paragraph, option span) for each
    inline span of the README's prose that starts with an option."""
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    found = []
    for paragraph in re.split(r"\n\s*\n", prose):
        scripts: list[str] = []
        for span in re.findall(r"`([^`]+)`", paragraph.replace("\n", " ")):
            if span.startswith("scripts/"):
                scripts.append(span.split()[0])
            elif span.startswith("--"):
                found.append((tuple(scripts), span))
    return found


@pytest.mark.parametrize("scripts, span", paragraph_options(README))
def test_an_option_in_prose_is_goai_s_or_a_script_s_named_before_it(scripts: tuple[str, ...],
                                                                   span: str) -> None:
    """`--window MINUTES`, said of goai train, is an option of scripts/train_gpu.sh only:
    an option no goai command has must follow the script it belongs to."""
    known = set(OUTSIDE)
    for parser in _subparsers().values():
        known |= _options(parser)
    for script in scripts:
        known |= set(OPTION.findall((ROOT / script).read_text(encoding="utf-8")))
    unknown = set(OPTION.findall(span)) - known
    assert not unknown, (f"`{span}`: no goai command has {', '.join(sorted(unknown))}, and "
                         "no script named before it in its paragraph")


def test_the_checks_catch_the_old_ambiguous_option() -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["train", "--data", "d", "--out", "o", "--window", "5"])
    assert "--window" not in _options(_subparsers()["train"])
    assert code_block_commands("```bash\ngoai play  # you\nprintf 'x' | goai play\n```") == [
        ["goai", "play"], ["goai", "play"]]
    assert paragraph_options("`goai train` ends with `--window MINUTES`; `scripts/train_gpu.sh "
                             "--profile hour`, `--window W`") == [
        ((), "--window MINUTES"), (("scripts/train_gpu.sh",), "--window W")]
