"""SGF game records in and out: SGF text and collections -> ``GameRecord``; records -> SGF.

``GameRecord`` itself, and the way from a record to its positions, is
``goai.records.record``'s: most of goai uses records without this parser.

Reading
=======
``iter_games(sources)`` is the one entry point for files on disk. It takes
paths to ``.sgf`` files (one game or a collection ``(;...)(;...)``), ``.zip``
and tar archives and folders, and yields, in input order, a ``GameRecord`` for
every game it can read and a ``Problem`` for everything it cannot. Finding the
SGF bytes in files, folders and archives, and every size limit on them (member
cap, bombs, cut archives, "no SGF games found"), is ``goai.records.sources``'s job;
this module turns bytes into records. ``parse_sgf(data)`` does that for bytes
already in memory (a GTP ``loadsgf``, a test).

Only what a move predictor needs is kept: board size, komi, handicap, setup
stones, the main-line moves, result, names, ranks and date. Nothing here knows
the rules of Go: legality is checked later by replaying (``goai.rules.game``).

Decisions
---------
* **Main line only.** At every branch the first variation is followed; the
  others are skipped without being read (they are still tokenised, so a broken
  side variation does not hurt the main line).
* **Setup stones** (``AB``/``AW``/``AE``) in any node before the first move go
  into ``setup_black``/``setup_white`` (AI records from the Fox server put the
  handicap stones in the node after the root, and White moves first there).
  Within one node ``AB`` is applied, then ``AW``, then ``AE`` (as sgfmill does),
  then the node's move if it has one. Setup values meaning "pass" (``[]``,
  ``[tt]``) are ignored; ``aa:cc`` rectangles are expanded.
* **Moves** keep the colours as recorded (alternation is not checked here).
  ``B[]`` is a pass, and so is ``B[tt]`` on boards up to 19x19 (``coords``).
* **Skip or truncate.** Damage in the root node (board size outside 2..25 or
  not square, an unreadable ``SZ``, a bad setup point or move, unreadable SGF)
  skips the game: ``Problem(kind=SKIPPED)``. Damage in a later node (a move off
  the board, two moves in one node, setup stones after the first move,
  unreadable SGF, data ending inside the game tree) *truncates* the game: the
  record keeps every node before the damaged one. Truncating keeps the
  positions that are fine; a replay would have to stop at the damaged node
  anyway. An unreadable ``KM`` or ``HA`` is only metadata: it counts as absent
  (komi 0, handicap 0) and is noted as ``IGNORED`` (one AI file has ``HA[7.5]``).
  ``TRUNCATED`` and ``IGNORED`` problems of a game are yielded just *before* its
  record (same source and index), so a consumer that wants only clean games
  can drop the next record.
* **Komi.** ``KM`` absent or empty is 0.0. Fox-server files write komi times
  100 (``KM[750]`` = 7.5, ``KM[375]`` = 3.75), so a komi whose absolute value is
  over 150 is divided by 100: no real game gives 150 points of komi. Fox komi
  of 1.5 or less (written ``150`` or less) cannot be told apart and is kept as
  written; Fox files with ``KM[0]`` still carry half-point results, so
  ``KM[0]`` does not always mean no komi (see the data README).
* **Text** (names, ranks, date, result) is SimpleText: escapes removed, line
  breaks and other white space turned into spaces (as sgfmill does). Bytes are
  decoded by ``CA``: UTF-8 (a byte-order mark at the start of the data means
  UTF-8 whatever ``CA`` says), GB2312/GBK/GB18030 as gb18030, EUC-KR as cp949,
  Shift_JIS as cp932, any other text encoding Python knows by that name.
  When ``CA`` is absent or Latin-1 (the FF[4] default), UTF-8 is tried first because
  mislabelled UTF-8 is far more common than real Latin-1 text that happens to
  be valid UTF-8. When the declared charset fails or is unknown, UTF-8 is
  tried; when that fails too the value is decoded with replacement characters.
  Text never makes a game unreadable: move values are ASCII.
* **Byte-level parsing**, like sgfmill: brackets and backslashes are found in
  the raw bytes, so a double-byte charset whose second byte can be ``]`` or
  ``\\`` (GBK, Shift_JIS) must be escaped by the writer, as FF[4] requires.
* **Bounded work.** The scanner makes one pass over the data (no regex
  backtracking, see ``_TOKEN_RE``; a 16 MiB member of letters, line breaks or
  an unclosed ``[`` takes well under a second), the parser is iterative
  (100,000 nested variations are fine), and a game keeps at most
  ``max_moves(size)`` moves (2,000 on 19x19, by board area, as servers cap
  games): the rest is cut with a ``TRUNCATED`` note, so a member of millions
  of passes holds 2,000 moves.
* **Not Go.** ``GM`` other than 1 (``GM[2]`` is Othello) skips the game; an
  unreadable ``GM`` is read as Go with an ``IGNORED`` note.
* **Charsets, not codecs.** ``CA`` names only a text encoding: ``hex``,
  ``base64``, ``rot13``, ``zlib``, ``punycode`` and names Python does not know
  are read like a missing ``CA``, with an ``IGNORED`` note.

Writing
=======
``write_sgf(record)`` gives FF[4] UTF-8 text that ``parse_sgf`` reads back to an
equal record (``source``/``index`` aside). Extra properties per move (comments
``C``, labels ``LB``) can be attached for a review or a GTP ``printsgf``.
"""

from __future__ import annotations

import codecs
import functools
import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from goai import __version__
from goai.records.record import GameRecord
from goai.records.sources import (
    DEFAULT_MAX_MEMBER_BYTES,
    NO_SGF_FOUND,
    Problem,
    ProblemKind,
    SgfData,
    iter_sgf_data,
)
from goai.rules.board import BLACK, WHITE
from goai.rules.coords import PASS, check_size, move_from_sgf, move_to_sgf

__all__ = [
    "DEFAULT_MAX_MEMBER_BYTES", "NO_SGF_FOUND", "Problem", "ProblemKind",
    "ReadSummary", "SgfData", "iter_games", "max_moves", "parse_sgf", "write_sgf",
]

FOX_KOMI_LIMIT = 150.0
MOVES_PER_POINT = 2000 / 361  # the move cap: 2,000 moves on 19x19, as servers cap games

# One token of SGF, tried in this order at each position (leading white space skipped):
# a run of up to 512 nodes that each hold just one move with a plain value (';B[pd];W[dd]',
# the bulk of every game, each followed by ';', '(' or ')'); a property (identifier, first
# value and its closing bracket, which is empty when the data ends inside the value, further
# values); a run of ';' and '(' or a run of ')'; a run of junk; or the end of the data.
# Values are ``[...]`` where ``\`` escapes the next byte (``\]`` does not close the value).
# Every quantifier is possessive and every alternative ends where it can go no further, so no
# match backtracks and every position matches: the scan is linear in the data (a greedy
# regex retried at every offset was quadratic on a run of letters or an unclosed '[').
_VALUE_TEXT = rb"[^\]\\]*+(?:\\.[^\]\\]*+)*+"
_TOKEN_RE = re.compile(
    rb"\s*+(?:((?:;\s*+[BW]\s*+\[[^\]\\]*+\]\s*+(?=[;()])){1,512}+)"
    rb"|([A-Za-z]++)\s*+\[(" + _VALUE_TEXT + rb")(\]|\\?\Z)((?:\s*+\[" + _VALUE_TEXT + rb"\])*+)"
    rb"|([;(](?:\s*+[;(])*+|\)++)"
    rb"|((?:[A-Za-z]++(?!\s*+\[)|[^A-Za-z;()]++)++)"
    rb"|\Z)",
    re.DOTALL,
)
# Everything up to the next parenthesis outside a value, for _skip_tree: runs of other
# bytes, identifiers with their values (closed, or open to the end of the data), and
# whole variations without variations inside (the leaves of a variation tree, where most
# of a commented game's side lines are), which leave the depth as it was.
_SKIP_TEXT = (
    rb"(?:[^()A-Za-z]++|[A-Za-z]++(?:\s*+\[" + _VALUE_TEXT + rb"(?:\]|\\?\Z)"
    rb"(?:\s*+\[" + _VALUE_TEXT + rb"\])*+)?+)"
)
_SKIP_RE = re.compile(rb"(?:" + _SKIP_TEXT + rb"|\((?:" + _SKIP_TEXT + rb")*+\))*+", re.DOTALL)
_PARENTHESES_RE = re.compile(rb"\(++|\)++")
_MOVE_RE = re.compile(rb"([BW])\s*+\[([^\]]*+)\]")  # the moves of a run
_MORE_VALUES_RE = re.compile(rb"\[(" + _VALUE_TEXT + rb")\]", re.DOTALL)
_MOVE_RUN, _PROPERTY, _DELIMITERS, _JUNK = 1, 5, 6, 7  # match.lastindex of each kind
_GAME_START_RE = re.compile(rb"\(\s*+;")
_LOWERCASE = bytes(range(ord("a"), ord("z") + 1))

_TEXT_FIELDS = {
    b"PB": "black_name",
    b"PW": "white_name",
    b"BR": "black_rank",
    b"WR": "white_rank",
    b"DT": "date",
    b"RE": "result",
}
# The properties kept: moves and setup from every node, these only from the root.
_NODE_PROPERTIES = frozenset({b"B", b"W", b"AB", b"AW", b"AE"})
_ROOT_ONLY = frozenset({b"GM", b"SZ", b"KM", b"HA", b"CA", b"PL", *_TEXT_FIELDS})

# CA names whose Python codec differs from the plain lookup, or is a superset worth using.
_CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
}


@dataclass
class ReadSummary:
    """Counts over a stream from ``iter_games``: feed every item to ``add``.

    ``games`` counts records (truncated ones included), ``moves`` their moves
    (one training position each), ``problems`` the problems by kind.
    """

    games: int = 0
    moves: int = 0
    problems: Counter[ProblemKind] = field(default_factory=Counter)

    def add(self, item: GameRecord | Problem) -> None:
        if isinstance(item, GameRecord):
            self.games += 1
            self.moves += len(item.moves)
        else:
            self.problems[item.kind] += 1

    def as_dict(self) -> dict[str, object]:
        """Plain types, for ``--json`` output."""
        problems = {str(kind): count for kind, count in sorted(self.problems.items())}
        return {"games": self.games, "moves": self.moves, "problems": problems}

    def __str__(self) -> str:
        problems = ", ".join(f"{kind} {count}" for kind, count in sorted(self.problems.items()))
        return f"{self.games} games, {self.moves} moves, problems: {problems or 'none'}"


# ----------------------------------------------------------------------------- files


def iter_games(
    sources: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES,
) -> Iterator[GameRecord | Problem]:
    """Yield every game of ``sources`` (paths to files, directories, archives).

    Sources are read in the order given; directories in sorted path order,
    archive members in archive order (``goai.records.sources``, which also holds every
    size limit). ``GameRecord.source`` is the file path, or ``"<archive
    path>:<member name>"`` for archive members. Never raises for bad input:
    see the module docstrings for what becomes a ``Problem``.
    """
    for item in iter_sgf_data(sources, max_member_bytes=max_member_bytes):
        if isinstance(item, Problem):
            yield item
        else:
            yield from parse_sgf(item.data, item.source)


# ----------------------------------------------------------------------------- parsing


def parse_sgf(data: bytes, source: str = "<bytes>") -> Iterator[GameRecord | Problem]:
    """Yield the games of one SGF file's bytes (one game tree or a collection).

    Games are numbered from 0 in order of appearance; text outside game trees
    is ignored. Yields a NO_GAME problem when there is no game tree at all.
    """
    utf8_bom = data.startswith(codecs.BOM_UTF8)
    index = 0
    position = 0
    while (start := _GAME_START_RE.search(data, position)) is not None:
        game = _Game(source, index, utf8_bom)
        position = _read_main_line(data, start.start(), game)
        yield from game.outcome()
        index += 1
    if index == 0:
        yield Problem(source, None, ProblemKind.NO_GAME, "no SGF game tree '(;' found")


def _read_main_line(data: bytes, start: int, game: _Game) -> int:
    """Feed the main line of the game tree at ``data[start] == b"("`` to ``game``.

    Returns where the tree ends (where the next one may start). Iterative:
    ``depth`` counts open parentheses. The main line is followed until its first
    ``)`` or until ``game`` stops taking nodes; the rest of the tree is then
    passed over by ``_skip_tree``. One pass over the data (see ``_TOKEN_RE``).
    """
    depth = 0
    following = True
    node: list[tuple[bytes, list[bytes]]] | None = None  # the node in progress
    moves = game.moves
    move_nodes = game.move_nodes
    for match in _TOKEN_RE.finditer(data, start):
        if not following:
            return _skip_tree(data, match.start(), depth)
        token = match.lastindex
        if token == _MOVE_RUN:
            if node is not None:
                following = game.add_node(node)
                node = None
                move_nodes = game.move_nodes
                if not following:
                    continue
            run = match.group(_MOVE_RUN)
            if move_nodes is not None:
                try:
                    moves += [move_nodes[text.rstrip()] for text in run.split(b";")[1:]]
                except KeyError:
                    pass
                else:
                    following = game.check_length()
                    continue
            # The root node, or a value only coords can judge: one node at a time.
            for color, value in _MOVE_RE.findall(run):
                following = game.add_node([(color, [value])])
                if not following:
                    break
            move_nodes = game.move_nodes
        elif token == _PROPERTY:
            if match.group(4) != b"]":
                game.stop("the data ends inside a property value")
                return len(data)
            if node is None:
                following = game.stop(f"property outside a node at byte {match.start(2)}")
                continue
            identifier = match.group(2)
            if not identifier.isupper():
                identifier = identifier.translate(None, _LOWERCASE)  # FF[3] 'AddBlack' is AB
            if identifier in _NODE_PROPERTIES or (move_nodes is None and identifier in _ROOT_ONLY):
                values = [match.group(3)]
                if match.group(5):
                    values += _MORE_VALUES_RE.findall(match.group(5))
                node.append((identifier, values))
        elif token == _DELIMITERS:
            if node is not None:
                following = game.add_node(node)
                node = None
                move_nodes = game.move_nodes
            delimiters = match.group(_DELIMITERS)
            if delimiters[0] == 0x29:  # b")": the main line ends
                following = False
                if len(delimiters) >= depth:
                    return match.start(_DELIMITERS) + depth
                depth -= len(delimiters)
                continue
            # A run of ';' and '(': each ';' starts a node, which is empty unless it is the
            # run's last; an empty node matters only as the root.
            depth += delimiters.count(b"(")
            starts_node = delimiters[-1] == 0x3B  # b";"
            if following and delimiters.count(b";") > starts_node:
                following = game.add_node([])
                move_nodes = game.move_nodes
            node = [] if following and starts_node else None
        elif token == _JUNK:
            following = game.stop(f"unreadable SGF at byte {match.start(_JUNK)}")
            node = None
        else:  # the end of the data
            break
    if following and node is not None:
        following = game.add_node(node)
    if following:
        game.stop("the data ends inside the game tree")
    return len(data)


def _skip_tree(data: bytes, position: int, depth: int) -> int:
    """Where the tree ends, from ``position`` at ``depth`` open parentheses.

    Reads as ``_TOKEN_RE`` does (values are opaque, a value left open runs to
    the end of the data) but only stops at parentheses: the side variations of a
    commented game pass in a few regex calls instead of a token each.
    """
    while True:
        position = _SKIP_RE.match(data, position).end()
        parentheses = _PARENTHESES_RE.match(data, position)
        if parentheses is None:  # the end of the data
            return len(data)
        run = parentheses.group()
        if run[0] == 0x28:  # b"("
            depth += len(run)
        elif len(run) >= depth:
            return position + depth
        else:
            depth -= len(run)
        position = parentheses.end()


_Setup = tuple[set[int], set[int], set[int]]  # added black, added white, emptied


class _Game:
    """One game while its main line is read: root properties, setup, moves, damage.

    ``add_node`` takes the main-line nodes in order and returns False once the
    game takes no more (the root was unreadable, or a node was damaged);
    ``outcome`` then gives the record and/or problem.
    """

    __slots__ = (
        "source", "index", "utf8_bom", "root", "points", "move_nodes", "size", "komi", "handicap",
        "black", "white", "moves", "max_moves", "problems",
    )  # fmt: skip

    def __init__(self, source: str, index: int, utf8_bom: bool) -> None:
        self.source = source
        self.index = index
        self.utf8_bom = utf8_bom
        self.root: dict[bytes, list[bytes]] | None = None  # set once the root node is read
        self.points: dict[bytes, int] | None = None  # SGF value -> move, with the root
        self.move_nodes: dict[bytes, tuple[int, int]] | None = None  # b"B[pd]" -> move
        self.size = 0
        self.komi = 0.0
        self.handicap = 0
        self.black: set[int] = set()
        self.white: set[int] = set()
        self.moves: list[tuple[int, int]] = []
        self.max_moves = 0  # set with the root
        self.problems: list[Problem] = []  # SKIPPED alone, or IGNORED/TRUNCATED notes

    def stop(self, reason: str) -> bool:
        """Note damage at the current node: skip or truncate the game. Returns False."""
        if self.root is None:
            self.problems = [self._problem(ProblemKind.SKIPPED, f"root node: {reason}")]
        else:
            reason = f"after move {len(self.moves)}: {reason}"
            self.problems.append(self._problem(ProblemKind.TRUNCATED, reason))
        return False

    def _problem(self, kind: ProblemKind, reason: str) -> Problem:
        return Problem(self.source, self.index, kind, reason)

    def add_node(self, node: list[tuple[bytes, list[bytes]]]) -> bool:
        """Apply one main-line node; returns False when the game takes no more."""
        if self.root is None:
            return self._add_root(node)
        assert self.points is not None  # set with the root
        try:
            setup, move = _read_node(node, self.points, self.size)
        except ValueError as error:
            return self.stop(str(error))
        return self._apply(setup, move)

    def _add_root(self, node: list[tuple[bytes, list[bytes]]]) -> bool:
        root: dict[bytes, list[bytes]] = {}
        for identifier, values in node:
            root.setdefault(identifier, values)  # a repeated root property: the first counts
        try:
            readable_game = _check_go(root.get(b"GM"))
            size = _read_size(root.get(b"SZ"))
            points = _sgf_points(size)
            setup, move = _read_node(node, points, size)
        except ValueError as error:
            return self.stop(str(error))
        self.root, self.points, self.size = root, points, size
        self.move_nodes = _move_nodes(size)
        self.max_moves = max_moves(size)
        # Game, komi and handicap are only metadata: when unreadable they count as absent.
        if not readable_game:
            text = _decode_text(root[b"GM"][0], None)
            self.problems.append(self._problem(ProblemKind.IGNORED,
                                               f"unreadable GM value {text!r}; read as Go"))
        try:
            self.komi = _read_komi(root.get(b"KM"))
        except ValueError as error:
            self.problems.append(self._problem(ProblemKind.IGNORED, f"{error}; komi 0 used"))
        try:
            self.handicap = _read_handicap(root.get(b"HA"))
        except ValueError as error:
            self.problems.append(self._problem(ProblemKind.IGNORED, f"{error}; handicap 0 used"))
        return self._apply(setup, move)

    def _apply(self, setup: _Setup | None, move: tuple[int, int] | None) -> bool:
        if setup is not None:
            if self.moves:
                return self.stop("setup stones (AB/AW/AE) once moves have started")
            added_black, added_white, emptied = setup
            self.black = ((self.black | added_black) - added_white) - emptied
            self.white = ((self.white - added_black) | added_white) - emptied
        if move is not None:
            self.moves.append(move)
            return self.check_length()
        return True

    def check_length(self) -> bool:
        """Cut the moves at ``max_moves`` (a TRUNCATED note); False once cut.

        The cap bounds the memory of one game: a 16 MiB member of passes would
        otherwise hold four million moves.
        """
        if len(self.moves) <= self.max_moves:
            return True
        del self.moves[self.max_moves:]
        return self.stop(f"more than {self.max_moves} moves (the cap for "
                         f"{self.size}x{self.size}); the rest is not read")

    def outcome(self) -> list[GameRecord | Problem]:
        """[SKIPPED problem], or the notes (IGNORED, TRUNCATED) then the record."""
        root = self.root
        if root is None:
            assert self.problems  # the scanner stops every game it leaves unread
            return list(self.problems)
        codec = "utf-8"
        if not self.utf8_bom:
            charset = root.get(b"CA", [b""])[0]
            codec = _codec(charset)
            if codec is None and charset.strip():
                name = _decode_text(charset, None)
                reason = f"CA[{name}] is not a known text encoding; text read as UTF-8 or Latin-1"
                self.problems.append(self._problem(ProblemKind.IGNORED, reason))
        text = {
            name: _decode_text(root[identifier][0], codec)
            for identifier, name in _TEXT_FIELDS.items()
            if identifier in root
        }
        moves = self.moves
        record = GameRecord(
            source=self.source,
            index=self.index,
            size=self.size,
            komi=self.komi,
            handicap=self.handicap,
            setup_black=tuple(sorted(self.black)),
            setup_white=tuple(sorted(self.white)),
            moves=tuple(moves),
            first_player=moves[0][0] if moves else _read_player(root.get(b"PL")),
            **text,
        )
        return [*self.problems, record]


def _read_node(
    node: list[tuple[bytes, list[bytes]]], points: dict[bytes, int], size: int
) -> tuple[_Setup | None, tuple[int, int] | None]:
    """(setup or None, move or None) of one node; ValueError when a value is bad."""
    setup = None
    move = None
    for identifier, values in node:
        if identifier == b"B" or identifier == b"W":
            if move is not None or len(values) > 1:
                raise ValueError("more than one move in a node")
            point = points.get(values[0])
            if point is None:  # upper case, spaces, or off the board: let coords decide
                point = move_from_sgf(values[0].decode("latin-1"), size)
            move = (BLACK if identifier == b"B" else WHITE, point)
        elif identifier in _NODE_PROPERTIES:  # AB, AW, AE
            if setup is None:
                setup = (set(), set(), set())
            target = setup[(b"AB", b"AW", b"AE").index(identifier)]
            for value in values:
                target.update(_setup_points(value, points, size))
    return setup, move


def _setup_points(value: bytes, points: dict[bytes, int], size: int) -> list[int]:
    """The points of one setup value: a point, or a compressed rectangle ``aa:cc``."""
    first, colon, second = value.partition(b":")
    corners = []
    for corner in (first, second) if colon else (first,):
        point = points.get(corner)
        if point is None:
            point = move_from_sgf(corner.decode("latin-1"), size)
        corners.append(point)
    if PASS in corners:
        if colon:
            raise ValueError(f"bad setup rectangle {value.decode('latin-1')!r}")
        return []  # AB[] or AB[tt]: nothing to set up
    (top, left), (bottom, right) = divmod(corners[0], size), divmod(corners[-1], size)
    if top > bottom or left > right:
        raise ValueError(f"bad setup rectangle {value.decode('latin-1')!r}")
    return [row * size + col for row in range(top, bottom + 1) for col in range(left, right + 1)]


@functools.cache
def _sgf_points(size: int) -> dict[bytes, int]:
    """Every plain SGF point value of a board (and the pass values) -> move, via coords."""
    letters = "abcdefghijklmnopqrstuvwxyz"[:size]
    table = {b"": move_from_sgf("", size)}
    if size <= 19:
        table[b"tt"] = move_from_sgf("tt", size)  # the FF[3] pass
    for row in letters:
        for col in letters:
            table[(col + row).encode()] = move_from_sgf(col + row, size)
    return table


@functools.cache
def _move_nodes(size: int) -> dict[bytes, tuple[int, int]]:
    """The text of every plain one-move node (``B[pd]``, ``W[]``) -> (color, move)."""
    return {
        identifier + b"[" + value + b"]": (color, move)
        for identifier, color in ((b"B", BLACK), (b"W", WHITE))
        for value, move in _sgf_points(size).items()
    }


def max_moves(size: int) -> int:
    """The most moves read from one game on a ``size`` board: 2,000 on 19x19, by area."""
    return max(100, round(MOVES_PER_POINT * size * size))


def _check_go(values: list[bytes] | None) -> bool:
    """Whether ``GM`` is readable: absent, empty or a number. ValueError unless it is Go.

    ``GM[1]`` is Go, ``GM[2]`` Othello, ``GM[3]`` chess: another number skips the
    game. An unreadable value is damage to metadata, like ``KM``: read as Go.
    """
    text = values[0].strip() if values else b""
    if not text:
        return True
    if not text.isdigit():
        return False
    if int(text) != 1:
        raise ValueError(f"GM[{text.decode('latin-1')}] is not a game of Go")
    return True


def _read_size(values: list[bytes] | None) -> int:
    if values is None:
        return 19
    text = values[0].strip().decode("latin-1")
    columns, colon, rows = text.partition(":")
    try:
        size, other = int(columns), int(rows if colon else columns)
    except ValueError:
        raise ValueError(f"unreadable SZ value {text!r}") from None
    if other != size:
        raise ValueError(f"rectangular board SZ value {text!r} is not supported")
    return check_size(size)


def _read_komi(values: list[bytes] | None) -> float:
    text = values[0].strip().decode("latin-1") if values else ""
    if not text:
        return 0.0
    try:
        komi = float(text)
    except ValueError:
        komi = math.nan
    if not math.isfinite(komi):
        raise ValueError(f"unreadable KM value {text!r}")
    return komi / 100 if abs(komi) > FOX_KOMI_LIMIT else komi  # Fox writes komi x 100


def _read_handicap(values: list[bytes] | None) -> int:
    if values is None:
        return 0
    text = values[0].strip().decode("latin-1")
    try:
        handicap = int(text)
    except ValueError:
        handicap = -1
    if handicap < 0:
        raise ValueError(f"unreadable HA value {text!r}")
    return handicap


def _read_player(values: list[bytes] | None) -> int:
    """PL[W] -> WHITE; anything else (absent, B, unreadable) -> BLACK."""
    return WHITE if values and values[0].strip()[:1] in (b"W", b"w") else BLACK


@functools.lru_cache(maxsize=64)  # bounded: CA values come from the data
def _codec(charset: bytes) -> str | None:
    """The Python codec for a ``CA`` value, or None when it is absent or unknown."""
    name = charset.decode("latin-1").strip().lower()
    if not name:
        return None
    try:
        info = codecs.lookup(_CHARSET_ALIASES.get(name, name))
    except (LookupError, ValueError):  # ValueError: a name with a NUL byte
        return None
    # hex, base64, rot13, zlib, uu, punycode, idna, undefined are codecs but not charsets.
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    return info.name


# Text codecs that are not charsets: they encode Unicode for other purposes, or refuse to.
_NOT_CHARSETS = frozenset({"punycode", "idna", "undefined", "raw-unicode-escape",
                           "unicode-escape"})

_LINE_BREAK_RE = re.compile(rb"\r\n|\n\r|\r")
_ESCAPE_RE = re.compile(rb"\\(.)", re.DOTALL)
_WHITESPACE_TO_SPACE = bytes.maketrans(b"\t\n\v\f", b"    ")


def _decode_text(raw: bytes, codec: str | None) -> str:
    """A raw SimpleText value -> str (escapes removed, white space made spaces)."""
    if b"\r" in raw:
        raw = _LINE_BREAK_RE.sub(b"\n", raw)
    if b"\\" in raw:
        raw = _ESCAPE_RE.sub(lambda m: b"" if m.group(1) == b"\n" else m.group(1), raw)
    raw = raw.translate(_WHITESPACE_TO_SPACE)
    if codec is None or codec == "iso8859-1":
        attempts = ("utf-8", "iso8859-1")
    else:
        attempts = (codec, "utf-8")
    for attempt in attempts:
        try:
            return raw.decode(attempt)
        except (UnicodeError, LookupError, ValueError):  # a codec may raise what it likes
            continue
    try:
        return raw.decode(codec or "utf-8", errors="replace")
    except (UnicodeError, LookupError, ValueError):
        return raw.decode("utf-8", errors="replace")


# ----------------------------------------------------------------------------- writing


def write_sgf(
    record: GameRecord,
    *,
    node_properties: Mapping[int, Mapping[str, Sequence[str]]] | None = None,
    root_properties: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """The record as FF[4] SGF text (CA[UTF-8]); encode it as UTF-8 to save it.

    ``node_properties`` adds properties to move nodes: ``{move index: {"C":
    ["comment"], "LB": ["dd:A"]}}``, move index 0 being the first move, and
    ``root_properties`` adds them to the root node (a game comment). Values
    are written as given with ``\\`` and ``]`` escaped, so points in them are SGF
    points. Raises ``ValueError`` for a bad board size, a move index out of range
    or an identifier that is not upper-case letters or would clash with moves
    and setup (B, W, AB, AW, AE).

    ``parse_sgf`` reads the text back to an equal record, except for ``source`` and
    ``index``, a komi of more than 150 points (read as Fox's komi x 100), text
    with tabs or line breaks (read as spaces) and a ``first_player`` that
    contradicts the first move.
    """
    size = check_size(record.size)
    extra = dict(node_properties or {})
    for move_index in extra:
        if not 0 <= move_index < len(record.moves):
            raise ValueError(f"move index {move_index} is outside 0..{len(record.moves) - 1}")
    for properties in (*extra.values(), root_properties or {}):
        for identifier in properties:
            if not identifier.isascii() or not identifier.isalpha() or not identifier.isupper():
                raise ValueError(f"bad SGF property identifier {identifier!r}")
            if identifier.encode() in _NODE_PROPERTIES:
                raise ValueError(f"property {identifier} would change the moves or setup")

    root = [f"GM[1]FF[4]CA[UTF-8]AP[goai:{__version__}]SZ[{size}]KM[{record.komi:g}]"]
    if record.handicap:
        root.append(f"HA[{record.handicap}]")
    for identifier, name in _TEXT_FIELDS.items():
        value = getattr(record, name)
        if value is not None:
            root.append(f"{identifier.decode()}[{_escape(value)}]")
    if record.first_player == WHITE:
        root.append("PL[W]")
    for identifier, stones in ((b"AB", record.setup_black), (b"AW", record.setup_white)):
        if stones:
            values = "".join(f"[{move_to_sgf(point, size)}]" for point in sorted(stones))
            root.append(identifier.decode() + values)

    for identifier, values in (root_properties or {}).items():
        root.append(identifier + "".join(f"[{_escape(value)}]" for value in values))
    lines = ["(;" + "".join(root)]
    for move_index, (color, move) in enumerate(record.moves):
        node = f";{'B' if color == BLACK else 'W'}[{move_to_sgf(move, size)}]"
        for identifier, values in extra.get(move_index, {}).items():
            node += identifier + "".join(f"[{_escape(value)}]" for value in values)
        # A line per move keeps diffs and comments readable; SGF ignores the line breaks.
        lines.append(node)
    return "\n".join(lines) + ")\n"


def _escape(text: str) -> str:
    """Text as an SGF property value: ``\\`` and ``]`` escaped (FF[4])."""
    return text.replace("\\", "\\\\").replace("]", "\\]")
