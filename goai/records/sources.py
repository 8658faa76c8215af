"""Files, folders and archives -> the bytes of each SGF file in them, within size limits.

``iter_sgf_data(sources)`` takes paths to ``.sgf`` files, ``.zip`` archives,
tar archives (``.tar``, ``.tar.gz``/``.tgz``, ``.tar.bz2``/``.tbz2``,
``.tar.xz``/``.txz``) and folders (every such file below them, in sorted path
order; other files are ignored) and yields, in input order, an ``SgfData``
(a source name and its bytes) for every ``.sgf`` file or member and a
``Problem`` for everything it cannot read. ``goai.records.sgf.iter_games`` turns the
bytes into game records; nothing here knows SGF syntax.

Hostile input
=============
Archives come from the internet, so every limit is enforced by counting the
bytes actually produced, never by trusting a size written in a header:

* **Nothing is extracted**: member names are never used as paths; only regular
  members whose names end in ``.sgf`` (any case) are read.
* **A member cap**: no file or member larger than ``max_member_bytes`` (16 MiB)
  is kept. Decompression is bounded at cap + 1 bytes whatever the compression
  method (stored, deflate, bzip2, lzma), so a bomb costs at most that much
  memory; it is reported as ``TOO_LARGE``.
* **Skipping is streaming**: a tar member that is not read (not ``.sgf``, too
  large, a link) is counted and discarded a chunk at a time. This reader
  parses tar headers itself because ``tarfile``'s stream mode hands a whole
  decompressed block to the caller (a 1 KB ``.tar.bz2`` held a 1 GiB block).
  The cost of skipping is still the time to decompress what is skipped.
* **Zip directories are checked** before any member is read: entries whose
  data would overlap or share an offset (one member listed 2,000 times) make
  the archive ``UNREADABLE``; a member whose header size is over the cap is
  ``TOO_LARGE`` without being decompressed. Members are decompressed here, not
  by ``zipfile`` (which decompresses bzip2 and lzma input without an output
  bound); their CRC is checked.
* **Truncation is reported**: a tar archive that ends before its end-of-archive
  block or inside a member, a compressed stream cut short and a zip member
  whose data ends early give one ``UNREADABLE`` problem naming the archive;
  everything read before the damage has been yielded already. A zip keeps its
  directory at its end, so a zip cut short cannot be read at all.
* **Nothing found is a problem**: a folder or archive with no ``.sgf`` file in
  it (an empty zip, a zip holding only another zip) yields ``NO_GAME``.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

DEFAULT_MAX_MEMBER_BYTES = 16 * 1024 * 1024
_CHUNK = 1 << 18  # bytes read or decompressed at a time
_TAR_BLOCK = 512
_TAR_META_LIMIT = 1 << 20  # a GNU long name or pax header larger than this is damage
_XZ_MEMORY_LIMIT = 128 << 20  # xz -9 needs 65 MiB to decompress; a header may ask for GiBs
NO_SGF_FOUND = "no SGF games found"


class ProblemKind(StrEnum):
    """What went wrong, for counting; the ``Problem.reason`` says the details."""

    UNREADABLE = "unreadable"  # a file, archive or member that cannot be read
    TOO_LARGE = "too large"  # a file or member over max_member_bytes, not read
    NO_GAME = "no game"  # data without any '(;', or a folder/archive without .sgf files
    SKIPPED = "skipped"  # a game dropped: its root node is damaged, or it is not Go
    IGNORED = "ignored"  # an unreadable KM, HA or CA taken as absent (the record follows)
    TRUNCATED = "truncated"  # a game kept up to a damaged node (the record follows)


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a source or a game could not be read (fully).

    ``index`` is the game's 0-based index in ``source``, or ``None`` when the
    problem concerns the whole file, archive or member. ``reason`` is one line.
    ``source`` and ``reason`` may hold text from the data (member names): print
    them escaped.
    """

    source: str
    index: int | None
    kind: ProblemKind
    reason: str

    @property
    def record_follows(self) -> bool:
        """True for a note about a game whose record is yielded next (TRUNCATED, IGNORED)."""
        return self.kind in (ProblemKind.TRUNCATED, ProblemKind.IGNORED)

    def __str__(self) -> str:
        where = self.source if self.index is None else f"{self.source} game {self.index}"
        return f"{where}: {self.kind}: {self.reason}"


@dataclass(frozen=True, slots=True)
class SgfData:
    """The bytes of one ``.sgf`` file or archive member (at most the member cap).

    ``source`` is the file path, or ``"<archive path>:<member name>"``.
    """

    source: str
    data: bytes


class _Damaged(Exception):
    """An archive or member that cannot be read on: the message is the reason."""


class _TooLarge(Exception):
    """More bytes than the member cap."""


def iter_sgf_data(
    sources: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES,
) -> Iterator[SgfData | Problem]:
    """Yield the bytes of every ``.sgf`` file and member of ``sources``, or a Problem.

    Sources are read in the order given; folders in sorted path order, archive
    members in archive order. Never raises for bad input (see the module
    docstring).
    """
    if isinstance(sources, str | os.PathLike):
        sources = [sources]
    for source in sources:
        path = Path(source)
        if path.is_dir():
            files = source_files(path)
            if not files:
                yield Problem(str(path), None, ProblemKind.NO_GAME,
                              f"{NO_SGF_FOUND}: no .sgf file or archive in the folder")
            for file in files:
                yield from _read_file(file, max_member_bytes)
        else:
            yield from _read_file(path, max_member_bytes)


def source_files(folder: Path) -> list[Path]:
    """The files below ``folder`` that ``iter_sgf_data`` reads, in sorted path order."""
    return sorted(p for p in folder.rglob("*") if _format(p.name) and p.is_file())


def reads_whole_file(path: Path, max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES) -> bool:
    """Whether ``iter_sgf_data`` reads ``path`` through: a regular file of a known format
    (an ``.sgf`` file within ``max_member_bytes``, an archive of any size).

    For a caller that reads the same bytes again (a checksum): a device, a FIFO,
    another file type or an ``.sgf`` over the cap is refused by the reader
    without being read, and must not be read by the caller either (``/dev/zero``
    never ends, a FIFO blocks, a sparse 1 GB file takes seconds).
    """
    reader = _format(path.name)
    try:
        info = path.stat()
    except OSError:
        return False
    if reader is None or not stat.S_ISREG(info.st_mode):
        return False
    return reader != "sgf" or info.st_size <= max_member_bytes


def read_regular_file(path: str | os.PathLike[str],
                      max_bytes: int = DEFAULT_MAX_MEMBER_BYTES) -> bytes:
    """The bytes of the regular file ``path``, of at most ``max_bytes``.

    Opened without blocking (a FIFO with no writer would wait for ever), checked
    to be a regular file on the open descriptor, and read only up to the cap,
    whatever its size claims (a growing file, ``/proc`` files that report 0).
    Raises ``OSError`` when it cannot be opened or read, ``ValueError`` (``"not a
    regular file"``, ``"larger than N bytes"``) for a device, FIFO, folder or a
    file over the cap.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("not a regular file")
        os.set_blocking(fd, True)
        chunks, size = [], 0
        while size <= max_bytes and (chunk := os.read(fd, max_bytes + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > max_bytes:
        raise ValueError(f"larger than {max_bytes} bytes")
    return b"".join(chunks)


def _format(name: str) -> str | None:
    """The reader for a file name: ``"sgf"``, ``"zip"``, a tar compression, or None."""
    name = name.lower()
    if name.endswith(".sgf"):
        return "sgf"
    if name.endswith(".zip"):
        return "zip"
    for suffixes, compression in (((".tar.gz", ".tgz"), "gz"), ((".tar.bz2", ".tbz2"), "bz2"),
                                  ((".tar.xz", ".txz"), "xz"), ((".tar",), "tar")):
        if name.endswith(suffixes):
            return compression
    return None


def _read_file(path: Path, max_bytes: int) -> Iterator[SgfData | Problem]:
    source = str(path)
    reader = _format(path.name)
    if reader is None:
        yield Problem(source, None, ProblemKind.UNREADABLE, "not an .sgf file or a known archive")
        return
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO or a device would block or not end
            yield Problem(source, None, ProblemKind.UNREADABLE, "not a regular file")
            return
        if reader == "sgf":
            with path.open("rb") as stream:
                data = stream.read(max_bytes + 1)
            yield _member(source, data, max_bytes)
        elif reader == "zip":
            yield from _read_zip(path, max_bytes)
        else:
            yield from _read_tar(path, reader, max_bytes)
    except OSError as error:
        yield Problem(source, None, ProblemKind.UNREADABLE, f"cannot read file: {error}")


def _member(source: str, data: bytes, max_bytes: int) -> SgfData | Problem:
    if len(data) > max_bytes:
        return _too_large(source, max_bytes)
    return SgfData(source, data)


def _too_large(source: str, max_bytes: int) -> Problem:
    reason = f"larger than max_member_bytes={max_bytes}; not read"
    return Problem(source, None, ProblemKind.TOO_LARGE, reason)


def _no_sgf(source: str, members: int) -> Problem:
    return Problem(source, None, ProblemKind.NO_GAME,
                   f"{NO_SGF_FOUND}: no .sgf member among {members} members")


def _is_sgf(name: str) -> bool:
    return name.lower().endswith(".sgf")


# ----------------------------------------------------------------------------- tar


def _read_tar(path: Path, compression: str, max_bytes: int) -> Iterator[SgfData | Problem]:
    openers: dict[str, Callable[[BinaryIO], BinaryIO]] = {
        "tar": lambda raw: raw,
        "gz": lambda raw: gzip.GzipFile(fileobj=raw, mode="rb"),
        "bz2": lambda raw: bz2.BZ2File(raw),
        "xz": lambda raw: _XzStream(raw),
    }
    members = sgf_members = 0
    with path.open("rb") as raw:
        tar = _TarReader(openers[compression](raw))
        try:
            for name, size, regular in tar.members():
                members += 1
                if not regular or not _is_sgf(name):
                    continue
                source = f"{path}:{name}"
                if size > max_bytes:
                    yield _too_large(source, max_bytes)
                else:
                    yield SgfData(source, tar.read(size))
                sgf_members += 1
        except (_Damaged, OSError, EOFError, lzma.LZMAError, zlib.error) as error:
            kind = "tar" if compression == "tar" else f"tar.{compression}"
            reason = (f"not a {kind} archive, cut short or damaged, after {sgf_members} .sgf "
                      f"members: {error or type(error).__name__}")
            yield Problem(str(path), None, ProblemKind.UNREADABLE, reason)
            return
    if not sgf_members:
        yield _no_sgf(str(path), members)


class _XzStream:
    """Read-only .xz data as a stream, decompressed under a memory limit.

    ``lzma.LZMAFile`` takes no memory limit, and an xz header may ask for a
    dictionary of gigabytes. One xz stream only (what ``xz`` writes).
    """

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.decompressor = lzma.LZMADecompressor(lzma.FORMAT_XZ, memlimit=_XZ_MEMORY_LIMIT)

    def read(self, size: int) -> bytes:
        decompressor = self.decompressor
        while not decompressor.eof:
            data = self.raw.read(_CHUNK) if decompressor.needs_input else b""
            if decompressor.needs_input and not data:
                raise EOFError("the compressed data ends early")
            piece = decompressor.decompress(data, size)
            if piece:
                return piece
        return b""


class _TarReader:
    """A tar archive read front to back from a stream (ustar, GNU and pax headers).

    ``members()`` yields ``(name, size, regular)``; the caller may ``read(size)``
    the member's data before asking for the next one, and whatever it leaves is
    skipped a chunk at a time. Raises ``_Damaged`` on a bad header checksum,
    and when the data ends before the end-of-archive block or inside a member.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.offset = 0  # bytes of the uncompressed archive consumed
        self.left = 0  # bytes of the current member's data (and padding) not yet consumed

    def _read_exact(self, size: int, what: str) -> bytes:
        parts = []
        wanted = size
        while wanted:
            part = self.stream.read(min(wanted, _CHUNK))
            if not part:
                raise _Damaged(f"the data ends inside {what} (at byte {self.offset})")
            parts.append(part)
            wanted -= len(part)
            self.offset += len(part)
        return b"".join(parts)

    def _skip(self, size: int, what: str) -> None:
        while size:
            part = self.stream.read(min(size, _CHUNK))
            if not part:
                raise _Damaged(f"the data ends inside {what} (at byte {self.offset})")
            size -= len(part)
            self.offset += len(part)

    def read(self, size: int) -> bytes:
        """The next ``size`` bytes of the current member's data."""
        data = self._read_exact(size, "a member")
        self.left -= size
        return data

    def members(self) -> Iterator[tuple[str, int, bool]]:
        long_name: str | None = None
        pax: dict[str, str] = {}
        while True:
            self._skip(self.left, "a member")
            self.left = 0
            header = b""
            while len(header) < _TAR_BLOCK and (part := self.stream.read(_TAR_BLOCK - len(header))):
                header += part
            if len(header) < _TAR_BLOCK:
                where = "without its end-of-archive block" if not header else "inside a header"
                raise _Damaged(f"the archive ends {where} (cut short at byte "
                               f"{self.offset + len(header)}?)")
            self.offset += _TAR_BLOCK
            if header == bytes(_TAR_BLOCK):
                return  # the end-of-archive block
            _check_tar_header(header, self.offset - _TAR_BLOCK)
            size = _tar_number(header[124:136])
            padded = size + (-size % _TAR_BLOCK)
            kind = header[156:157]
            if kind in (b"L", b"x", b"g"):  # metadata for the next member (or all of them)
                if size > _TAR_META_LIMIT:
                    raise _Damaged(f"a {size}-byte tar metadata header")
                meta = self._read_exact(padded, "a header")[:size]
                if kind == b"L":
                    long_name = meta.rstrip(b"\0").decode("utf-8", "replace")
                elif kind == b"x":
                    pax = _pax_records(meta)
                continue
            name = long_name or pax.get("path") or _ustar_name(header)
            if "size" in pax:
                size = _tar_int(pax["size"])
                padded = size + (-size % _TAR_BLOCK)
            long_name, pax = None, {}
            self.left = padded
            yield name, size, kind in (b"0", b"\0", b"7")  # regular (7: contiguous) files


def _check_tar_header(header: bytes, offset: int) -> None:
    stored = _tar_number(header[148:156])
    unsigned = sum(header[:148]) + 8 * 32 + sum(header[156:])  # the field itself as spaces
    signed = unsigned - 256 * sum(1 for byte in header[:148] + header[156:] if byte > 127)
    if stored not in (unsigned, signed):
        raise _Damaged(f"bad tar header checksum at byte {offset} (not a tar, or damaged)")


def _tar_number(field: bytes) -> int:
    """A numeric header field: octal text, or GNU base-256 when the top bit is set."""
    if field[:1] and field[0] & 0x80:
        if field[0] != 0x80:
            raise _Damaged("a negative or oversized number in a tar header")
        return int.from_bytes(field[1:], "big")
    text = field.split(b"\0", 1)[0].strip()
    try:
        return int(text, 8) if text else 0
    except ValueError:
        raise _Damaged(f"unreadable number {text[:20]!r} in a tar header") from None


def _tar_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise _Damaged(f"unreadable pax size {text[:20]!r}")
    return value


def _ustar_name(header: bytes) -> str:
    name = header[:100].split(b"\0", 1)[0]
    if header[257:263] == b"ustar\0":  # POSIX ustar: a prefix (GNU 'ustar  ' has none)
        prefix = header[345:500].split(b"\0", 1)[0]
        if prefix:
            name = prefix + b"/" + name
    return name.decode("utf-8", "replace")


def _pax_records(data: bytes) -> dict[str, str]:
    """``"length key=value\\n"`` records of a pax header (only path and size are used)."""
    records = {}
    position = 0
    while position < len(data):
        length_text, space, _ = data[position:position + 20].partition(b" ")
        try:
            length = int(length_text)
        except ValueError:
            length = 0
        if not space or length <= len(length_text) + 1 or position + length > len(data):
            raise _Damaged("an unreadable pax header")
        key, _, value = data[position + len(length_text) + 1:position + length - 1].partition(b"=")
        records[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
        position += length
    return records


# ----------------------------------------------------------------------------- zip


_ZIP_LOCAL_HEADER = struct.Struct("<4s5H3I2H")  # signature ... name length, extra length
_ZIP_STORED, _ZIP_DEFLATED, _ZIP_BZIP2, _ZIP_LZMA = 0, 8, 12, 14


def _read_zip(path: Path, max_bytes: int) -> Iterator[SgfData | Problem]:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    # NotImplementedError: a damaged 'version needed' field; struct.error: a short record.
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError,
            struct.error) as error:
        reason = f"not a readable zip archive (not a zip, or cut short): {error}"
        yield Problem(str(path), None, ProblemKind.UNREADABLE, reason)
        return
    overlap = _zip_overlap(infos)
    if overlap is not None:
        yield Problem(str(path), None, ProblemKind.UNREADABLE, overlap)
        return
    wanted = [info for info in infos if _is_sgf(info.filename)]
    if not wanted:
        yield _no_sgf(str(path), len(infos))
        return
    with path.open("rb") as raw:
        for info in wanted:
            source = f"{path}:{info.filename}"
            if info.file_size > max_bytes:
                yield _too_large(source, max_bytes)
                continue
            try:
                yield SgfData(source, _zip_member(raw, info, max_bytes))
            except _TooLarge:
                yield _too_large(source, max_bytes)
            except (_Damaged, OSError, EOFError, lzma.LZMAError, zlib.error) as error:
                yield Problem(source, None, ProblemKind.UNREADABLE, f"cannot read member: {error}")


def _zip_overlap(infos: list[zipfile.ZipInfo]) -> str | None:
    """Why the members' data would overlap (a zip bomb's trick), or None.

    Each member occupies at least its 30-byte local header and its compressed
    data from its offset; sorted by offset, no member may start inside the one
    before it.
    """
    extents = sorted((info.header_offset, info.compress_size, info.filename) for info in infos)
    for (offset, compressed, name), (next_offset, _, next_name) in zip(
            extents, extents[1:], strict=False):
        if next_offset < offset + _ZIP_LOCAL_HEADER.size + compressed:
            return (f"members {name!r} and {next_name!r} overlap at byte {next_offset} "
                    "(refused: overlapping members are a zip-bomb trick)")
    return None


def _zip_member(raw: BinaryIO, info: zipfile.ZipInfo, max_bytes: int) -> bytes:
    """One member's data, decompressed with an output bound; its CRC checked.

    Raises ``_TooLarge`` past ``max_bytes`` and ``_Damaged`` for an encrypted
    member, an unknown compression method, data ending early or a bad CRC.
    """
    if info.flag_bits & 0x1:
        raise _Damaged("encrypted")
    raw.seek(info.header_offset)
    header = raw.read(_ZIP_LOCAL_HEADER.size)
    if len(header) < _ZIP_LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise _Damaged("bad local header")
    name_length, extra_length = _ZIP_LOCAL_HEADER.unpack(header)[-2:]
    raw.seek(name_length + extra_length, os.SEEK_CUR)
    left = info.compress_size

    def chunks() -> Iterator[bytes]:
        nonlocal left
        while left > 0:
            chunk = raw.read(min(left, _CHUNK))
            if not chunk:
                raise _Damaged("the member's data ends early (archive cut short?)")
            left -= len(chunk)
            yield chunk

    method = info.compress_type
    if method == _ZIP_STORED:
        pieces: Iterator[bytes] = chunks()
    elif method == _ZIP_DEFLATED:
        pieces = _inflate(chunks(), max_bytes)
    elif method == _ZIP_BZIP2:
        pieces = _unpack(chunks(), bz2.BZ2Decompressor(), max_bytes, must_end=True)
    elif method == _ZIP_LZMA:
        header = raw.read(4)
        properties_size = struct.unpack("<2xH", header)[0] if len(header) == 4 else left
        if 4 + properties_size > left:
            raise _Damaged("bad lzma header")
        properties = raw.read(properties_size)
        left -= 4 + properties_size
        filters = [_lzma1(properties, max_bytes)]
        decompressor = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=filters)
        pieces = _unpack(chunks(), decompressor, max_bytes, must_end=False)
    else:
        raise _Damaged(f"unsupported compression method {method}")
    data = bytearray()
    for piece in pieces:
        data += piece
        if len(data) > max_bytes:
            raise _TooLarge
    if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
        raise _Damaged("bad CRC or size (damaged member)")
    return bytes(data)


def _inflate(chunks: Iterator[bytes], max_bytes: int) -> Iterator[bytes]:
    """Raw deflate data -> output pieces, never more than ``max_bytes + 1`` in all."""
    decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
    produced = 0
    for chunk in chunks:
        data = chunk
        while data and not decompressor.eof:
            piece = decompressor.decompress(data, max_bytes + 1 - produced)
            produced += len(piece)
            yield piece
            if produced > max_bytes:
                return
            data = decompressor.unconsumed_tail
        if decompressor.eof:
            return
    raise _Damaged("the compressed data ends early")


def _unpack(chunks: Iterator[bytes], decompressor: bz2.BZ2Decompressor | lzma.LZMADecompressor,
            max_bytes: int, *, must_end: bool) -> Iterator[bytes]:
    """bzip2 or lzma data -> output pieces, never more than ``max_bytes + 1`` in all."""
    produced = 0
    for chunk in chunks:
        data = chunk
        while not decompressor.eof:
            piece = decompressor.decompress(data, max_bytes + 1 - produced)
            data = b""
            produced += len(piece)
            yield piece
            if produced > max_bytes:
                return
            if decompressor.needs_input:
                break
        if decompressor.eof:
            return
    if must_end:
        raise _Damaged("the compressed data ends early")


def _lzma1(properties: bytes, max_bytes: int) -> dict[str, int]:
    """The LZMA1 filter of a zip member's 5 property bytes (lc/lp/pb, dictionary size).

    The dictionary is allocated whole, and a header may ask for 4 GiB; no more
    than ``max_bytes + 1`` bytes are decompressed, so no match reaches further
    back than that and a dictionary of that size decodes the same data.
    """
    if len(properties) != 5:
        raise _Damaged("bad lzma properties")
    packed, dict_size = properties[0], int.from_bytes(properties[1:], "little")
    if packed >= 9 * 5 * 5:
        raise _Damaged("bad lzma properties")
    return {"id": lzma.FILTER_LZMA1, "lc": packed % 9, "lp": packed // 9 % 5,
            "pb": packed // 45, "dict_size": max(4096, min(dict_size, max_bytes + 1))}
