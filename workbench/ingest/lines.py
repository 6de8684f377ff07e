"""Where things are in a file, as the line numbers an editor shows: byte offsets to lines, the
start of a row the CSV reader set aside, empty lines (readers skip them). Each is one chunked
pass over the bytes.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

CHUNK_BYTES = 1 << 20
BLANK_LINE = re.compile(rb"\n(?=\r?\n)")  # a break followed by an empty line
MAX_BLANK_LINES = 10_000  # beyond this, line numbers after them may be off (noted in docs/notes/ingest.md)


def lines_at(path: Path, offsets: list[int]) -> list[int]:
    """The editor lines (1-based) holding each byte offset, in one pass over the file."""
    order = sorted(range(len(offsets)), key=offsets.__getitem__)
    out, line, done = [0] * len(offsets), 1, 0
    with path.open("rb") as f:
        for i in order:
            while done < offsets[i]:
                chunk = f.read(min(CHUNK_BYTES, offsets[i] - done))
                if not chunk:
                    break
                line += chunk.count(b"\n")
                done += len(chunk)
            out[i] = line
    return out


def row_starts(path: Path, offsets: list[int]) -> list[int]:
    """The reader reports where a row it set aside starts, sometimes at the line break(s) before
    it (CRLF, empty lines): step over those to the row's first byte."""
    out = []
    with path.open("rb") as f:
        for offset in offsets:
            f.seek(offset)
            head = f.read(64)
            out.append(offset + len(head) - len(head.lstrip(b"\r\n")))
    return out


def line_at(path: Path, offset: int) -> int:
    """The editor line (1-based) holding byte `offset`."""
    line, done = 1, 0
    with path.open("rb") as f:
        while done < offset and (chunk := f.read(min(CHUNK_BYTES, offset - done))):
            line += chunk.count(b"\n")
            done += len(chunk)
    return line


def count_newlines(path: Path) -> int:
    """Line breaks of the UTF-8 copy (UTF-16 breaks are two bytes in the original)."""
    count = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            count += chunk.count(b"\n")
    return count


def blank_lines(path: Path) -> list[int]:
    """The editor lines that are empty (readers skip them); only asked for when the line count
    says there are some. At most MAX_BLANK_LINES."""
    out, tail, newlines = [], b"\n", 0  # as if a line break came before the file: an empty first line counts
    with path.open("rb") as f:
        while (chunk := f.read(CHUNK_BYTES)) and len(out) < MAX_BLANK_LINES:
            _find_blank_lines(tail, chunk, newlines, out)
            tail = chunk[-2:]
            newlines += chunk.count(b"\n")
    return out[:MAX_BLANK_LINES]


def _find_blank_lines(tail: bytes, chunk: bytes, newlines_before: int, out: list[int]) -> None:
    """Append the editor lines of empty lines that start in `chunk` (tail: the previous chunk's end)."""
    window = tail + chunk
    line, at = newlines_before - tail.count(b"\n"), 0
    for m in BLANK_LINE.finditer(window):
        line += window.count(b"\n", at, m.end())
        at = m.end()
        if m.end() >= len(tail):  # starts in this chunk, not one already seen
            out.append(line + 1)


def unclosed_quote_lines(path: Path, quote: bytes = b'"', most: int = 100) -> list[int]:
    """Lines (1-based) whose quote opens a field that never closes: the reader would read the rest
    of the file as that one field. Empty when the quotes pair up; a quick count decides that first."""
    odd = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            odd ^= chunk.count(quote) & 1
    if not odd:
        return []
    found: list[int] = []
    while len(found) < most:
        opened, line = None, 0
        with path.open("rb") as f:
            for line, text in enumerate(f, start=1):
                if line in found or not text.count(quote) & 1:
                    continue
                opened = line if opened is None else None  # an odd count opens a field or closes the open one
        if opened is None:
            return found
        found.append(opened)
    return found


def stray_quote_pairs(path: Path, delimiter: bytes, width: int, quote: bytes = b'"', most: int = 100) -> list[int]:
    """Pairs of lines (1-based, both listed) whose quotes the reader would take for one quoted field
    spanning lines, although each line from the one to the other holds a whole row on its own
    (width - 1 delimiters): two stray quotes ('"bolt saw,50,1' ... 'blade",51,2') that would merge
    every row between them into one field, silently. A real multi-line field (a description with
    line breaks) rarely has a whole row's delimiters on every one of its lines.

    Only a quote where the reader sees one opens or closes a field: at a field's start (line start
    or after a delimiter) to open, before a delimiter or the line end to close; a quote inside a
    word (12" saw) opens nothing."""
    found: list[int] = []
    opened, whole_rows = None, True
    with path.open("rb") as f:
        for line, text in enumerate(f, start=1):
            body = text.rstrip(b"\r\n")
            whole = body.count(delimiter) == width - 1
            odd = body.count(quote) & 1
            if opened is None:
                if odd and (body.startswith(quote) or delimiter + quote in body):
                    opened, whole_rows = line, whole
            else:
                whole_rows = whole_rows and whole
                if odd and (body.endswith(quote) or quote + delimiter in body):
                    if whole_rows:
                        found += [opened, line]
                    opened = None
                    if len(found) >= most:
                        break
    return found


def set_lines_aside(path: Path, out: Path, lines: list[int], filler: bytes) -> dict[int, str]:
    """A copy of the file with each of `lines` replaced by `filler` (same number of lines, so every
    other row keeps its line number; the reader then rejects those rows). Returns line -> its text."""
    skip, texts = set(lines), {}
    with path.open("rb") as src, out.open("wb") as dst:
        for line, text in enumerate(src, start=1):
            if line in skip:
                texts[line] = text.decode("utf-8", "replace").rstrip("\r\n")[:10_000]
                dst.write(filler + (b"\r\n" if text.endswith(b"\r\n") else b"\n" if text.endswith(b"\n") else b""))
            else:
                dst.write(text)
    return texts


def json_line_problems(path: Path) -> tuple[dict[int, str], int]:
    """The lines (1-based) of a JSON Lines file that are not one JSON object each, with the reason
    ('malformed JSON' or 'not a JSON object'), and how many lines are objects; empty lines are
    neither, as the reader skips them. Parses every line in Python, so it is asked for only once
    the reader has failed on the file."""
    found, objects = {}, 0
    with path.open("rb") as f:
        for line, text in enumerate(f, start=1):
            body = text.strip()
            if line == 1:
                body = body.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 BOM
            if not body:
                continue
            try:
                value = json.loads(body)
            except ValueError:  # also UnicodeDecodeError
                found[line] = "malformed JSON"
                continue
            if isinstance(value, dict):
                objects += 1
            else:
                found[line] = "not a JSON object"
    return found, objects


def invalid_utf8_lines(path: Path, most: int) -> list[int]:
    """Lines (1-based) that are not valid UTF-8, stopping after most + 1 of them."""
    found = []
    with path.open("rb") as f:
        for line, text in enumerate(f, start=1):
            try:
                text.decode("utf-8")
            except UnicodeDecodeError:
                found.append(line)
                if len(found) > most:
                    break
    return found


def few_bad_utf8_lines(path: Path, lines: int, share: float = 0.05, most: int = 100) -> bool:
    """A UTF-8 file with a few damaged lines (at most `share` of its lines, and `most`): read it as
    UTF-8 and let the reader reject those lines, rather than refuse it or read it all as Latin-1."""
    limit = min(most, int(lines * share))
    return limit >= 1 and len(invalid_utf8_lines(path, limit)) <= limit
