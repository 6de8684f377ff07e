"""What a file is before anything reads its rows: format (CSV, TSV, Parquet, JSON Lines, or one of
those in gzip or zip), text encoding, delimiter, header, sha256 of its bytes, and whether it is
empty, binary, truncated or longer per line than we accept.

A compressed file is decompressed whole, with its checksum checked, before any row is read: a
cut-off or damaged archive is refused with one message naming the file, however much of it would
decompress, so the database never sees part of it. zstd is recognised and refused by name.

One streaming pass in 1 MiB chunks hashes the bytes, counts line breaks, finds NUL bytes and
checks UTF-8; a file in another encoding (GB18030/GBK, Latin-1, UTF-16) is transcoded to a UTF-8
temporary file in the same chunked way, so no whole-file copy is held in memory.
"""
from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import re
import shutil
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from charset_normalizer import from_bytes

from workbench.errors import BadInput
from workbench.ingest.lines import CHUNK_BYTES, count_newlines, few_bad_utf8_lines, line_at

MAX_LINE_BYTES = 2 << 20  # longer lines are set aside (DuckDB's max_line_size)
MAX_COLUMNS = 1000
FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet",
           ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
GZIP_MAGIC, ZIP_MAGIC, ZSTD_MAGIC = b"\x1f\x8b", b"PK\x03\x04", b"\x28\xb5\x2f\xfd"
WORKBOOKS = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")  # spreadsheet workbooks, refused by name
SINGLE_BYTE = ("latin", "cp125", "iso8859", "iso-8859", "windows-125", "mac_")
UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


@dataclass
class FileInfo:
    path: Path  # what the reader opens: the file itself or its UTF-8 / unzipped copy in workdir
    name: str  # the user's file name, for messages only
    format: str  # 'csv' | 'tsv' | 'parquet' | 'jsonl'
    sha256: str
    encoding: str | None = None
    delimiter: str = ","
    columns: list[str] = field(default_factory=list)
    newlines: int = 0
    ends_with_newline: bool = True


def inspect_file(path: Path, name: str, workdir: Path, encoding: str | None = None) -> FileInfo:
    """Look at a file and make it ready for DuckDB's readers; BadInput says what is wrong and where."""
    size = path.stat().st_size
    if size == 0:
        raise BadInput(f"{name} is empty (0 bytes); choose the file again or export it once more")
    digest = _sha256(path)
    path, suffixes = _decompress(path, name, [s.lower() for s in Path(name).suffixes], workdir)
    head = _head(path, 4)
    fmt = FORMATS.get(suffixes[-1] if suffixes else "", "csv")
    if head == b"PAR1":
        fmt = "parquet"
    elif fmt == "parquet":
        raise BadInput(f"{name} is named .parquet but is not a Parquet file (no PAR1 marker); save it again as Parquet")
    info = FileInfo(path=path, name=name, format=fmt, sha256=digest)
    if fmt == "parquet":
        if _tail(path, 4) != b"PAR1":
            raise BadInput(f"{name} is a truncated or damaged Parquet file (its footer is missing)")
        return info
    _prepare_text(info, workdir, encoding)
    if fmt == "jsonl":
        if _head(info.path, 4096).removeprefix(codecs.BOM_UTF8).lstrip()[:1] == b"[":
            raise BadInput(f"{name} is a JSON array, not JSON Lines; the workbench reads JSON Lines, one object per "
                           "line. Save it as JSON Lines (pandas: to_json(orient='records', lines=True)) or as CSV")
        return info
    if info.delimiter == "" or fmt == "tsv":
        info.delimiter = "\t" if fmt == "tsv" else info.delimiter
    _read_header(info)
    return info


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _head(path: Path, n: int) -> bytes:
    with path.open("rb") as f:
        return f.read(n)


def _tail(path: Path, n: int) -> bytes:
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - n))
        return f.read(n)


def _decompress(path: Path, name: str, suffixes: list[str], workdir: Path) -> tuple[Path, list[str]]:
    """The file to read and the suffixes that name its format: a gzip or zip is decompressed whole
    into workdir first (by its first bytes, whatever its name says); anything else is read as it is."""
    head = _head(path, 4)
    last = suffixes[-1] if suffixes else ""
    if last in WORKBOOKS:
        raise _workbook(name)
    if head.startswith(GZIP_MAGIC):
        path, archive = _gunzip(path, name, workdir), "gzip"
        suffixes = suffixes[:-1] if last in (".gz", ".gzip") else suffixes
    elif head.startswith(ZIP_MAGIC) or last == ".zip":
        path, suffixes, archive = *_unzip(path, name, workdir), "zip"
    elif head.startswith(ZSTD_MAGIC) or last in (".zst", ".zstd"):
        raise BadInput(f"{name} is compressed with zstd, which the workbench does not read; decompress it "
                       "(zstd -d) or compress it with gzip or zip instead")
    else:
        return path, suffixes
    if path.stat().st_size == 0:
        raise BadInput(f"{name} holds an empty file inside its {archive}")
    return path, suffixes


def _gunzip(path: Path, name: str, workdir: Path) -> Path:
    """Every member to its end: gzip checks each member's CRC and length, and a cut-off stream raises."""
    out = workdir / "unzipped"
    try:
        with gzip.open(path, "rb") as src, out.open("wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK_BYTES)
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as e:
        raise _damaged(name, "gzip", e) from e
    return out


def _unzip(path: Path, name: str, workdir: Path) -> tuple[Path, list[str]]:
    """The one file inside a zip, and its suffixes; zipfile checks the member's CRC as it reads."""
    out = workdir / "unzipped"
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if any(m.filename == "xl/workbook.xml" for m in members):
                raise _workbook(name)
            if len(members) != 1:
                listed = ", ".join(m.filename for m in members[:5]) or "nothing"
                raise BadInput(f"{name} holds {len(members)} files ({listed}); a zip must hold exactly one CSV, "
                               "TSV, Parquet or JSON Lines file")
            with archive.open(members[0]) as src, out.open("wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK_BYTES)
    except (EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, zlib.error, OSError) as e:
        raise _damaged(name, "zip", e) from e
    return out, [s.lower() for s in Path(members[0].filename).suffixes]


def _workbook(name: str) -> BadInput:
    return BadInput(f"{name} is a spreadsheet workbook (Excel); the workbench does not read workbooks. Save the sheet "
                    "as CSV UTF-8 (in Excel: File > Save As > CSV UTF-8) and ingest that file")


def _damaged(name: str, archive: str, error: Exception) -> BadInput:
    """The library's reason in the user's words: cut off, or a checksum that does not match."""
    text = str(error)
    if isinstance(error, EOFError):
        reason = "it ends before its compressed data does"
    elif "CRC" in text:
        reason = "its checksum does not match what it holds"
    elif archive == "zip" and "not a zip file" in text:
        reason = "its table of contents, kept at the end of a zip, is missing"
    else:
        reason = text
    again = "compress it again" if archive == "gzip" else "zip it again"
    return BadInput(f"{name} is a truncated or damaged {archive} file: {reason}; nothing was read from it. "
                    f"Copy or download the file again, or {again}")


def _prepare_text(info: FileInfo, workdir: Path, encoding: str | None) -> None:
    """Count lines, refuse binary and NUL bytes, and make sure the reader gets UTF-8."""
    sample = _head(info.path, 64 << 10)
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = encoding or "utf-16"
    elif _looks_binary(sample):
        raise BadInput(f"{info.name} does not look like a text file (CSV, TSV, JSON Lines) or Parquet; "
                       "export the data as one of those")
    newlines, first_nul, bad_utf8, last = 0, -1, -1, b""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, run, long_at = 0, 0, -1  # run: bytes since the last line break
    with info.path.open("rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            newlines += chunk.count(b"\n")
            # A line longer than MAX_LINE_BYTES (> one chunk) spans chunk edges, so the runs there suffice.
            first = chunk.find(b"\n")
            run += len(chunk) if first < 0 else first
            if long_at < 0 and run > MAX_LINE_BYTES:
                long_at = offset + (len(chunk) if first < 0 else first) - run
            if first >= 0:
                run = len(chunk) - chunk.rfind(b"\n") - 1
            if first_nul < 0 and (at := chunk.find(b"\0")) >= 0:
                first_nul = offset + at
            if bad_utf8 < 0:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as e:
                    bad_utf8 = offset + e.start
            offset += len(chunk)
            last = chunk[-1:]
    if bad_utf8 < 0:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            bad_utf8 = offset - 1
    info.newlines, info.ends_with_newline = newlines, last == b"\n"
    if long_at < 0 and run > MAX_LINE_BYTES:
        long_at = offset - run
    if long_at >= 0:
        line = line_at(info.path, long_at)
        raise BadInput(f"{info.name}, line {line}: longer than {MAX_LINE_BYTES >> 20} MiB, the most one line may "
                       "hold; is a quote left open, or are the line breaks missing?")
    if encoding is None and bad_utf8 >= 0 and few_bad_utf8_lines(info.path, newlines):
        # UTF-8 (or plain ASCII) with a few damaged lines: the reader rejects those lines, with their line
        # numbers and a reason that names the encoding. Read as Latin-1 they would go in as silent garbage;
        # a real Latin-1 file has accents on more lines than that, or its encoding is chosen on the page.
        bad_utf8 = -1
    if encoding is None and bad_utf8 < 0:
        info.encoding = "utf-8-sig" if sample.startswith(codecs.BOM_UTF8) else "utf-8"
    else:
        if encoding is None:
            encoding = _detect(info, sample, bad_utf8)
        _transcode(info, workdir, encoding)
        return
    # A NUL byte in a CSV row rejects that row ("NUL byte in text"); in the header or a JSON line the
    # file is refused.
    if first_nul >= 0 and (info.format == "jsonl" or line_at(info.path, first_nul) == 1):
        raise BadInput(f"{info.name}, line {line_at(info.path, first_nul)}: NUL byte in the text; a text file has "
                       "none (was it saved as UTF-16, or is it damaged?)")


def _looks_binary(sample: bytes) -> bool:
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return control > max(8, len(sample) // 20)


def _detect(info: FileInfo, sample: bytes, bad_utf8: int) -> str:
    """Guess the encoding of a file that is not UTF-8; refuse one that mixes UTF-8 with another."""
    with info.path.open("rb") as f:
        f.seek(max(0, bad_utf8 - (32 << 10)))
        around = f.read(64 << 10)
    best = from_bytes(sample + b"\n" + around).best()
    guess = (best.encoding if best else "latin-1").lower()
    if guess in ("gb2312", "gbk", "gb18030", "hz"):
        return "gb18030"  # a superset of GB2312 and GBK
    if guess.startswith(SINGLE_BYTE) or guess in ("ascii", "utf_8", "utf-8"):
        utf8_at = _first_utf8_sequence(info.path)
        if utf8_at >= 0:
            raise BadInput(
                f"{info.name} mixes text encodings: line {line_at(info.path, utf8_at)} is UTF-8 but line "
                f"{line_at(info.path, bad_utf8)} is not (byte 0x{_byte_at(info.path, bad_utf8):02X}); save the "
                "whole file in one encoding (UTF-8 is best) or choose the encoding yourself"
            )
        return "cp1252" if guess.startswith(("cp1252", "windows-1252")) else "latin-1"
    return guess


def _first_utf8_sequence(path: Path) -> int:
    offset = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            if m := UTF8_MULTIBYTE.search(chunk):
                return offset + m.start()
            offset += len(chunk)
    return -1


def _byte_at(path: Path, offset: int) -> int:
    with path.open("rb") as f:
        f.seek(offset)
        return f.read(1)[0]


def _transcode(info: FileInfo, workdir: Path, encoding: str) -> None:
    try:
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    except LookupError as e:
        raise BadInput(f"unknown encoding {encoding!r}; try utf-8, gb18030, gbk or latin-1") from e
    out = workdir / "utf8.txt"
    offset = 0
    with info.path.open("rb") as src, out.open("w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(CHUNK_BYTES):
            try:
                dst.write(decoder.decode(chunk).replace("\ufeff", "", 1 if offset == 0 else 0))
            except UnicodeDecodeError as e:
                raise BadInput(
                    f"{info.name}, line {line_at(info.path, offset + e.start)}: byte 0x{chunk[e.start]:02X} is not "
                    f"valid {encoding}; choose the file's real encoding or save it as UTF-8"
                ) from e
            offset += len(chunk)
        dst.write(decoder.decode(b"", final=True))
    if "\0" in _head(out, 64 << 10).decode("utf-8", "ignore"):
        raise BadInput(f"{info.name}: NUL characters in the text after decoding it as {encoding}")
    info.path, info.encoding = out, encoding
    info.newlines = count_newlines(out)


def _read_header(info: FileInfo) -> None:
    """The header line: its columns, the delimiter, and refusals for odd shapes."""
    with info.path.open("rb") as f:
        first = f.readline(MAX_LINE_BYTES + 1)
    if len(first) > MAX_LINE_BYTES:
        raise BadInput(f"{info.name}, line 1: the header line is longer than {MAX_LINE_BYTES >> 20} MiB; the file "
                       "needs a header line naming its columns")
    text = first.decode("utf-8", "replace").lstrip("\ufeff").rstrip("\r\n")
    if not text.strip():
        raise BadInput(f"{info.name}, line 1: the header line is empty; the first line must name the columns")
    if info.format == "csv":
        bare = re.sub(r'"(?:[^"]|"")*"', "", text)  # delimiters inside quoted names do not count
        counts = {d: bare.count(d) for d in (",", "\t", ";", "|")}
        info.delimiter = max(counts, key=counts.get) if max(counts.values()) else ","
    columns = next(csv.reader([text], delimiter=info.delimiter))
    if len(columns) > MAX_COLUMNS:
        raise BadInput(f"{info.name}, line 1: {len(columns):,} columns; the workbench takes at most {MAX_COLUMNS:,}. "
                       "Is the delimiter right?")
    seen: dict[str, int] = {}
    for i, column in enumerate(columns, 1):
        key = column.strip().lower()
        if key in seen:
            raise BadInput(f"{info.name}, line 1: column {column!r} appears twice (columns {seen[key]} and {i}); "
                           "rename one so each column has its own name")
        seen[key] = i
    if len(columns) == 1 and info.format == "tsv" and any(d in text for d in (",", ";", "|")):
        sep = next(d for d in (",", ";", "|") if d in text)
        raise BadInput(f"{info.name}, line 1: no tab in the header of a .tsv file, but {sep!r} is there; "
                       f"rename it to .csv or export it with tabs")
    info.columns = columns
