"""goai.records.sources: hostile archives and files are refused within the member cap,
never buffered.

Each test rebuilds, small and in ``tmp_path``, an input from issue 13's probe
(a bzip2 bomb beside a game, one zip member listed many times, an archive cut
short). Memory is checked with ``tracemalloc`` (the decompressed bytes are
Python objects), never with a clock.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import struct
import tarfile
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from goai.records.record import GameRecord
from goai.records.sgf import Problem, ProblemKind, iter_games
from goai.records.sources import NO_SGF_FOUND, SgfData, iter_sgf_data, read_regular_file

GAME = b"(;SZ[19]KM[6.5];B[pd];W[dd];B[pp];W[dp])"
MIB = 1 << 20


class Zeros(io.RawIOBase):
    """``size`` zero bytes as a stream, so a big member is never held to be written."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001 - a writable buffer
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        return count


def tar_bytes(members: list[tuple[str, int | bytes]], mode: str = "w") -> bytes:
    """A tar archive in memory: each member is data, or a size of zeros."""
    out = io.BytesIO()
    # xz -1: a 1 MiB dictionary, which the reader allocates whatever the data.
    options = {"preset": 1} if mode == "w:xz" else {}
    with tarfile.open(fileobj=out, mode=mode, **options) as archive:
        for name, content in members:
            info = tarfile.TarInfo(name)
            if isinstance(content, int):
                info.size = content
                archive.addfile(info, io.BufferedReader(Zeros(content), MIB))
            else:
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
    return out.getvalue()


def peak_memory(function) -> tuple[object, int]:  # noqa: ANN001
    """``function()`` and the peak bytes it allocated (Python objects)."""
    tracemalloc.start()
    try:
        result = function()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def kinds(items: list) -> list[ProblemKind]:
    return [item.kind for item in items if isinstance(item, Problem)]


# ----------------------------------------------------------------------------- tar


@pytest.mark.parametrize("suffix", [".tar", ".tar.gz", ".tar.bz2", ".tar.xz"])
def test_skipped_tar_members_are_streamed_not_buffered(tmp_path: Path, suffix: str) -> None:
    # Issue 13.3: a 968-byte .tar.bz2 held 1 GiB of zeros in 'padding.bin' before its game,
    # and skipping that member held it whole (3.2 GB). Here 24 MiB, and a 12 MiB .sgf
    # member over a 1 MiB cap: both must pass through a chunk at a time.
    mode = {".tar": "w", ".tar.gz": "w:gz", ".tar.bz2": "w:bz2", ".tar.xz": "w:xz"}[suffix]
    path = tmp_path / f"bomb{suffix}"
    path.write_bytes(tar_bytes([("padding.bin", 24 * MIB), ("big.sgf", 12 * MIB),
                                ("game.sgf", GAME)], mode))
    items, peak = peak_memory(lambda: list(iter_games(path, max_member_bytes=MIB)))
    assert kinds(items) == [ProblemKind.TOO_LARGE]
    assert [item.source for item in items if isinstance(item, GameRecord)] == [f"{path}:game.sgf"]
    assert peak < 4 * MIB, f"{peak / MIB:.1f} MiB held while skipping"


def test_tar_cut_anywhere_before_its_end_marker_is_reported(tmp_path: Path) -> None:
    # Issue 13.5: a .tar of the sample games cut at byte 221,153 gave 115 games and no word.
    games = [(f"{i}.sgf", GAME.replace(b"6.5", str(i).encode())) for i in range(6)]
    whole = tar_bytes(games)
    end_marker = 6 * 2 * 512  # each member: one header block and one data block
    assert whole[end_marker:end_marker + 512] == bytes(512)
    for cut in [*range(0, end_marker, 512), *range(100, end_marker, 512), end_marker + 1]:
        compressed = gzip.compress(whole)
        for suffix, data in ((".tar", whole[:cut]), (".tar.gz", gzip.compress(whole[:cut])),
                             (".tar.gz", compressed[:len(compressed) * cut // end_marker // 2])):
            path = tmp_path / f"cut{suffix}"
            path.write_bytes(data)
            items = list(iter_games(path))
            assert kinds(items)[-1:] == [ProblemKind.UNREADABLE], (suffix, cut)
            assert all(isinstance(item, GameRecord) for item in items[:-1])
    path = tmp_path / "whole.tar"
    path.write_bytes(whole[:end_marker + 512])  # the end marker and nothing after: complete
    assert kinds(list(iter_games(path))) == []


def test_tar_with_long_names_pax_headers_and_links(tmp_path: Path) -> None:
    long_name = "a/" * 80 + "game.sgf"  # over 100 bytes: GNU long name or pax path
    for tar_format in (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT):
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tar_format) as archive:
            for name in (long_name, "井山.sgf"):
                info = tarfile.TarInfo(name)
                info.size = len(GAME)
                archive.addfile(info, io.BytesIO(GAME))
            link = tarfile.TarInfo("link.sgf")
            link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
            archive.addfile(link)
            folder = tarfile.TarInfo("folder.sgf")
            folder.type = tarfile.DIRTYPE
            archive.addfile(folder)
        path = tmp_path / "names.tar"
        path.write_bytes(out.getvalue())
        items = list(iter_sgf_data(path))
        assert items == [SgfData(f"{path}:{long_name}", GAME), SgfData(f"{path}:井山.sgf", GAME)]


def test_a_tar_header_with_a_bad_checksum_is_reported(tmp_path: Path) -> None:
    data = bytearray(tar_bytes([("1.sgf", GAME), ("2.sgf", GAME)]))
    data[1024 + 10] ^= 0x01  # the second header's name
    path = tmp_path / "bad.tar"
    path.write_bytes(bytes(data))
    items = list(iter_games(path))
    assert isinstance(items[0], GameRecord) and kinds(items) == [ProblemKind.UNREADABLE]
    assert "checksum" in items[-1].reason


# ----------------------------------------------------------------------------- zip


def zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def repeat_central_entry(data: bytes, times: int) -> bytes:
    """The zip's only directory entry listed ``times`` times: every copy points at one member."""
    end = data.rindex(b"PK\x05\x06")
    size, offset = struct.unpack_from("<II", data, end + 12)
    entry = data[offset:offset + size]
    record = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, times, times, size * times, offset, 0)
    return data[:offset] + entry * times + record


def test_zip_entries_that_share_a_member_are_refused(tmp_path: Path) -> None:
    # Issue 13.4: 2,000 directory entries pointing at one 17 MiB member cost 173 s of CPU.
    path = tmp_path / "overlap.zip"
    path.write_bytes(repeat_central_entry(zip_bytes({"a.sgf": GAME * 1000},
                                                    zipfile.ZIP_DEFLATED), 2000))
    with zipfile.ZipFile(path) as archive:
        assert len(archive.infolist()) == 2000  # zipfile itself accepts it
    (problem,) = iter_games(path)
    assert problem.kind == ProblemKind.UNREADABLE and "overlap" in problem.reason


def test_zip_member_data_inside_another_member_is_refused(tmp_path: Path) -> None:
    # The 'quoted overlap' bomb: a second entry whose offset lies inside the first's data.
    data = bytearray(zip_bytes({"a.sgf": GAME * 10, "b.sgf": GAME}))
    second = data.rindex(b"PK\x01\x02")  # the second directory entry
    struct.pack_into("<I", data, second + 42, 40)  # its local header offset: inside a.sgf
    path = tmp_path / "quoted.zip"
    path.write_bytes(bytes(data))
    (problem,) = iter_games(path)
    assert problem.kind == ProblemKind.UNREADABLE and "overlap" in problem.reason


def test_an_oversized_zip_member_is_refused_from_its_header(tmp_path: Path) -> None:
    data = bytearray(zip_bytes({"big.sgf": b"x" * (2 * MIB), "game.sgf": GAME}))
    data[100:200] = bytes(100)  # damage big.sgf's data: reading it would fail its CRC
    path = tmp_path / "big.zip"
    path.write_bytes(bytes(data))
    items = list(iter_games(path, max_member_bytes=MIB))
    assert kinds(items) == [ProblemKind.TOO_LARGE] and isinstance(items[1], GameRecord)


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED,
                                         zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_zip_member_cap_holds_whatever_the_header_says(tmp_path: Path, compression: int) -> None:
    # Issue 13.7: a bzip2 member expanding to 2 GB took 3.8 GB. Here 24 MiB under a header
    # that claims 100 bytes, for every method: the reader counts what it decompresses.
    data = bytearray(zip_bytes({"bomb.sgf": bytes(24 * MIB), "game.sgf": GAME}, compression))
    entry = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, entry + 24, 100)  # the directory's uncompressed size
    path = tmp_path / "bomb.zip"
    path.write_bytes(bytes(data))
    items, peak = peak_memory(lambda: list(iter_games(path, max_member_bytes=MIB)))
    assert kinds(items) == [ProblemKind.TOO_LARGE] and isinstance(items[1], GameRecord)
    assert peak < 4 * MIB, f"{peak / MIB:.1f} MiB held"


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED,
                                         zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_zip_members_of_every_method_are_read_and_checked(tmp_path: Path,
                                                          compression: int) -> None:
    games = {f"{i}.sgf": GAME.replace(b"6.5", str(i).encode()) * 50 for i in range(3)}
    path = tmp_path / "games.zip"
    path.write_bytes(zip_bytes(games, compression))
    assert [item.data for item in iter_sgf_data(path)] == list(games.values())
    entry = bytearray(path.read_bytes())
    crc_at = entry.index(b"PK\x01\x02") + 16
    entry[crc_at] ^= 0xFF  # the first member's CRC as the directory records it
    path.write_bytes(bytes(entry))
    first = next(iter_sgf_data(path))
    assert isinstance(first, Problem) and "CRC" in first.reason


def test_a_zip_member_cut_short_is_unreadable(tmp_path: Path) -> None:
    data = bytearray(zip_bytes({"a.sgf": bz2.compress(GAME) * 100}, zipfile.ZIP_BZIP2))
    entry = data.index(b"PK\x01\x02")
    compressed = struct.unpack_from("<I", data, entry + 20)[0]
    struct.pack_into("<I", data, entry + 20, compressed // 2)  # the data ends half way
    path = tmp_path / "cut.zip"
    path.write_bytes(bytes(data))
    (problem,) = iter_games(path)
    assert problem.kind == ProblemKind.UNREADABLE and "ends early" in problem.reason


# ----------------------------------------------------------------------------- nothing found


def test_sources_without_sgf_report_no_games_found(tmp_path: Path) -> None:
    # Issue 12.7: these gave 0 games and no reason.
    empty_folder = tmp_path / "empty"
    empty_folder.mkdir()
    (empty_folder / "notes.txt").write_text("no games here")
    empty_zip = tmp_path / "empty.zip"
    empty_zip.write_bytes(zip_bytes({}))
    nested = tmp_path / "nested.zip"
    nested.write_bytes(zip_bytes({"inner.zip": zip_bytes({"game.sgf": GAME})}))
    no_sgf_tar = tmp_path / "other.tar.gz"
    no_sgf_tar.write_bytes(tar_bytes([("readme.txt", b"hello")], "w:gz"))
    sources = [empty_folder, empty_zip, nested, no_sgf_tar]
    items = list(iter_games(sources))
    assert [(item.source, item.kind) for item in items] == [
        (str(source), ProblemKind.NO_GAME) for source in sources]
    assert all(NO_SGF_FOUND in item.reason for item in items)


def test_a_folder_holding_an_empty_archive_names_the_archive(tmp_path: Path) -> None:
    (tmp_path / "empty.zip").write_bytes(zip_bytes({}))
    (problem,) = iter_games(tmp_path)
    assert problem.source == str(tmp_path / "empty.zip") and problem.kind == ProblemKind.NO_GAME


def test_a_fifo_is_not_read(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe.sgf"
    os.mkfifo(fifo)
    (problem,) = iter_games(fifo)
    assert problem.kind == ProblemKind.UNREADABLE and "not a regular file" in problem.reason


def test_one_file_is_read_up_to_its_cap_and_only_if_regular(tmp_path: Path) -> None:
    import os

    game = tmp_path / "game.sgf"
    game.write_bytes(GAME)
    assert read_regular_file(game, len(GAME)) == GAME
    with pytest.raises(ValueError, match=f"larger than {len(GAME) - 1} bytes"):
        read_regular_file(game, len(GAME) - 1)
    fifo = tmp_path / "pipe.sgf"
    os.mkfifo(fifo)  # no writer: a blocking open would wait for ever
    for special in (fifo, tmp_path, "/dev/zero"):
        with pytest.raises(ValueError, match="not a regular file"):
            read_regular_file(special)
    with pytest.raises(OSError):
        read_regular_file(tmp_path / "missing.sgf")


def test_xz_tar_is_read(tmp_path: Path) -> None:
    path = tmp_path / "games.txz"
    path.write_bytes(lzma.compress(tar_bytes([("g.sgf", GAME)])))
    (record,) = iter_games(path)
    assert isinstance(record, GameRecord) and len(record.moves) == 4


@pytest.mark.parametrize("suffix", [".zip", ".tar", ".tar.gz", ".tar.bz2", ".tar.xz"])
def test_random_damage_to_an_archive_never_raises(tmp_path: Path, suffix: str) -> None:
    """Bytes flipped and archives cut at random: always records or problems, never an error."""
    import random

    games = [(f"{i}.sgf", GAME.replace(b"6.5", str(i).encode())) for i in range(8)]
    games += [("notes.txt", b"x" * 3000), ("d/" + "long" * 40 + ".sgf", GAME)]
    if suffix == ".zip":
        original = zip_bytes(dict(games), zipfile.ZIP_DEFLATED)
    else:
        original = tar_bytes(games, {".tar": "w", ".tar.gz": "w:gz", ".tar.bz2": "w:bz2",
                                     ".tar.xz": "w:xz"}[suffix])
    rng = random.Random(suffix)
    path = tmp_path / f"damaged{suffix}"
    for _ in range(150):
        data = bytearray(original)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[:rng.randrange(len(data))]
        path.write_bytes(bytes(data))
        items = list(iter_games(path))
        assert all(isinstance(item, GameRecord | Problem) for item in items)
