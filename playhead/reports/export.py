"""Exports of the selected sessions, streamed a chunk at a time from one read snapshot:
CSV (RFC 4180), NDJSON (each session's whole report per line) and Parquet (the CSV's columns;
needs the ``parquet`` extra, pyarrow).

Rows come from :meth:`Storage.scan_chunks` a list at a time, so memory stays flat however many
sessions are selected, and each list is formatted whole, with no Python step per value: the
store shapes the values (integer and flag fields already as CSV text), msgspec writes a CSV
chunk, Arrow takes a Parquet chunk a column at a time. The bytes are those the csv module
(and ``RecordBatch.from_pylist``) would write of the same rows.
"""

from __future__ import annotations

import contextlib
import csv
import io
import operator
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Final

import msgspec

from playhead.errors import MissingExtra
from playhead.reports import aggregate
from playhead.reports.dimensions import Dialect
from playhead.reports.figures import FROM, dialect_of
from playhead.reports.selection import Selection
from playhead.storage import Storage
from playhead.storage.queries import Query

# The per-session figures after the list's columns: (column name, summary column, kind).
FIELDS: Final[tuple[tuple[str, str, str], ...]] = (
    ("isPlayed", "is_played", "bool"),
    ("isDroppedBeforeStart", "is_dropped_before_start", "bool"),
    ("hasResume", "has_resume", "bool"),
    ("isDownloaded", "is_downloaded", "bool"),
    ("viewerKey", "viewer_key", "text"),
    ("hasProgress10", "has_progress10", "bool"),
    ("hasProgress25", "has_progress25", "bool"),
    ("hasProgress50", "has_progress50", "bool"),
    ("hasProgress75", "has_progress75", "bool"),
    ("hasProgress95", "has_progress95", "bool"),
    ("hasBufferImpactedStreams", "buffer_impacted", "bool"),
    ("hasStallImpactedStreams", "stall_impacted", "bool"),
    ("hasErrorImpactedStreams", "error_impacted", "bool"),
    ("hasPauseImpactedStreams", "pause_impacted", "bool"),
    ("hasBitrateChangeImpactedStreams", "bitrate_change_impacted", "bool"),
    ("hasDroppedFrameImpactedStreams", "dropped_frame_impacted", "bool"),
    ("pauseCount", "pause_count", "int"),
    ("bufferCount", "buffer_count", "int"),
    ("stallCount", "stall_count", "int"),
    ("bitrateChangeCount", "bitrate_change_count", "int"),
    ("droppedFrames", "dropped_frames", "int"),
    ("estimatedStreams", "estimated_streams", "int"),
    ("adBreaks", "ad_breaks", "int"),
    ("adStarts", "ad_starts", "int"),
    ("adCompletes", "ad_completes", "int"),
    ("adSkips", "ad_skips", "int"),
    ("chapterStarts", "chapter_starts", "int"),
    ("chapterCompletes", "chapter_completes", "int"),
    ("chapterSkips", "chapter_skips", "int"),
    ("totalTimePlayed", "total_time_played", "float"),
    ("uniqueTimePlayed", "unique_time_played", "float"),
    ("pauseTime", "pause_time", "float"),
    ("bufferTime", "buffer_time", "float"),
    ("stallTime", "stall_time", "float"),
    ("adTimePlayed", "ad_time_played", "float"),
    ("chapterTimePlayed", "chapter_time_played", "float"),
    ("averageMinuteAudience", "average_minute_audience", "float"),
    ("timeToStart", "time_to_start", "float"),
    ("bitrateAverage", "bitrate_average", "float"),
    ("bitrateAverageBucket", "bitrate_bucket", "text"),
    ("playbackSuccess", "playback_success", "float"),
    ("startup", "startup", "float"),
    ("smoothness", "smoothness", "float"),
)
COLUMNS: Final = (*aggregate.LIST_FIELDS, *(name for name, _, _ in FIELDS))
KINDS: Final[dict[str, str]] = {
    **{name: "text" for name in ("id", "state", "closeReason", "media.id", "media.name")},
    "viewer": "text",
    "firstEventTs": "int",
    "lastEventTs": "int",
    "timePlayed": "float",
    "isCompleted": "bool",
    "errorCount": "int",
    "experience": "float",
    **{name: kind for name, _, kind in FIELDS},
}
CHUNK: Final = 2000  # rows fetched at a time (one CSV or Parquet chunk's worth)
REPORT_CHUNK: Final = 500  # NDJSON: stored reports are kilobytes each
ROW_GROUP: Final = 10_000  # Parquet rows per row group

# What makes the csv module quote a field (QUOTE_MINIMAL with "\r\n" line ends).
_SPECIAL: Final = re.compile('[,"\r\n]')
# In JSON floats, the marks of one msgspec writes unlike repr: an exponent, below 1e-4 (which
# repr writes with an exponent), ``null`` (inf or nan).
_ODD_FLOAT: Final = (b"e", b"0.0000", b"n")
_encode: Final = msgspec.json.Encoder().encode


def _expressions(dialect: Dialect) -> tuple[str, ...]:
    """The SQL of each of :data:`COLUMNS`."""
    return (*aggregate.LIST_EXPRESSIONS, *(f"ss.{column}" for _, column, _ in FIELDS))


def _select(storage: Storage, selection: Selection, columns: str) -> Query[Any]:
    """``columns`` of the selected sessions, oldest first (the sessions list's order)."""
    sql, args = aggregate.sessions_query(selection, dialect_of(storage), "firstEventTs", None, None)
    _, _, tail = sql.partition(f" {FROM}")
    return Query(f"SELECT {columns} {FROM}{tail}", args, list)


def _typed(kind: str, sql: str) -> str:
    """SQL giving a column's value as the export's ``kind`` wants it: integers truncated as
    Python's ``int`` does (flags stay 0/1, made booleans later)."""
    return f"CAST({sql} AS BIGINT)" if kind == "int" else sql


def _csv_field(kind: str, sql: str) -> str:
    """SQL giving an integer or flag column as the text of its CSV field: the integer (as
    Python's ``int`` makes it), ``true``/``false``, or NULL (an empty field)."""
    if kind == "bool":
        return f"CASE WHEN {sql} <> 0 THEN 'true' WHEN {sql} = 0 THEN 'false' END"
    return _typed(kind, sql)


def _csv_fields(dialect: Dialect, kinds_and_sql: Sequence[tuple[str, str]]) -> str:
    """SQL joining a run of integer and flag columns' fields with commas, in one call (its
    ``%s`` writes NULL as nothing)."""
    function = "format" if dialect == "postgres" else "printf"
    pattern = ",".join(["%s"] * len(kinds_and_sql))
    fields = ", ".join(_csv_field(kind, sql) for kind, sql in kinds_and_sql)
    return f"{function}('{pattern}', {fields})"


class _CsvLayout:
    """How rows of CSV come out of the store, a chunk at a time.

    SQL gives each run of adjacent integer and flag columns as one text (their fields joined
    by commas), each text column as its text ('' for NULL) and each float column as its
    float. A chunk of such rows is then one ``msgspec.json.encode`` call, its quotes dropped
    and its ``],[`` made line breaks: for floats from 1e-4 to 1e16 (and 0) msgspec writes
    what ``repr`` writes (as the csv module does), and text without a comma, quote,
    backslash or control character comes out as it is. Rows outside that (checked on the
    chunk's output: an extra comma or an escape; an exponent, ``null`` or ``0.0000`` among
    its floats) are written the slow way, one by one, as the csv module would.
    """

    def __init__(self, dialect: Dialect) -> None:
        values: list[str] = []
        texts: list[int] = []
        floats: list[int] = []
        run: list[tuple[str, str]] = []
        for name, sql in zip(COLUMNS, _expressions(dialect), strict=True):
            kind = KINDS[name]
            if kind in ("int", "bool"):
                run.append((kind, sql))
                continue
            if run:
                values.append(_csv_fields(dialect, run))
                run = []
            if kind == "text":
                texts.append(len(values))
                values.append(f"COALESCE({sql}, '')")
            else:  # PostgreSQL cannot make a NULL double '': such rows go the slow way
                floats.append(len(values))
                values.append(f"COALESCE({sql}, '')" if dialect == "sqlite" else sql)
        if run:
            values.append(_csv_fields(dialect, run))
        self.columns = ", ".join(values)
        self._texts = frozenset(texts)
        self._text_values = operator.itemgetter(*texts)
        self._float_values = operator.itemgetter(*floats)
        self._format = ",".join(["%s"] * len(values)) + "\r\n"
        self._commas = len(COLUMNS) - 1  # in each line

    def lines(self, rows: Sequence[Sequence[Any]]) -> bytes:
        """The CSV lines of ``rows`` (fetched with :attr:`columns`), UTF-8."""
        if not rows:
            return b""
        if type(rows[0]) is not tuple:  # e.g. asyncpg's records
            rows = list(map(tuple, rows))
        floats = _encode(list(map(self._float_values, rows)))
        out = _encode(rows)
        if (
            not _odd_floats(floats)
            and b"\\" not in out
            and out.count(b",") == (self._commas + 1) * len(rows) - 1
        ):
            return _csv_of_json(out)
        lines = _csv_of_json(out).split(b"\r\n")
        if len(lines) != len(rows) + 1:  # a text with "],[" in it: every row the slow way
            return "".join([self._line(row) for row in rows]).encode()
        for i, row in enumerate(rows):
            if self._slow(row):
                lines[i] = self._line(row)[:-2].encode()
        return b"\r\n".join(lines)

    def _slow(self, row: Sequence[Any]) -> bool:
        """Whether a row cannot be written the fast way (see the class)."""
        texts = "".join(self._text_values(row))
        odd_text = _SPECIAL.search(texts) is not None or b"\\" in _encode(texts)
        return odd_text or _odd_floats(_encode(self._float_values(row)))

    def _line(self, row: Sequence[Any]) -> str:
        """One row's line the slow way: NULL floats empty, special text fields quoted."""
        values = tuple(
            "" if value is None else _quoted(value) if i in self._texts else value
            for i, value in enumerate(row)
        )
        return self._format % values


def _odd_floats(floats: bytes) -> bool:
    """Whether JSON floats hold one msgspec writes unlike ``repr``."""
    return any(mark in floats for mark in _ODD_FLOAT)


def _csv_of_json(out: bytes) -> bytes:
    """CSV lines from a JSON array of rows of fast-way values (see :class:`_CsvLayout`)."""
    return out.translate(None, b'"').replace(b"],[", b"\r\n")[2:-2] + b"\r\n"


def _quoted(text: str) -> str:
    """A text field as the csv module writes it: in quotes (inner ones doubled) when it holds
    a comma, a quote or a line break, else as it is."""
    if _SPECIAL.search(text) is None:
        return text
    return '"' + text.replace('"', '""') + '"'


def _header() -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(COLUMNS)
    return buffer.getvalue()


async def csv_chunks(storage: Storage, selection: Selection) -> AsyncIterator[bytes]:
    """The CSV export: a header row, then one row per session (RFC 4180, CRLF)."""
    layout = _CsvLayout(dialect_of(storage))
    yield _header().encode()
    query = _select(storage, selection, layout.columns)
    async with contextlib.aclosing(storage.scan_chunks(query, CHUNK)) as chunks:
        async for rows in chunks:
            yield layout.lines(rows)


async def ndjson_chunks(storage: Storage, selection: Selection) -> AsyncIterator[bytes]:
    """The NDJSON export: each selected session's stored report, one per line, oldest first."""
    report = "(SELECT r.report FROM session_summaries r WHERE r.session_id = ss.session_id)"
    query = _select(storage, selection, report)
    async with contextlib.aclosing(storage.scan_chunks(query, REPORT_CHUNK)) as chunks:
        async for rows in chunks:
            lines = [row[0] for row in rows]
            lines.append(b"")  # so that the last report ends with a line break too
            yield b"\n".join(lines)


def require_pyarrow() -> Any:
    """The pyarrow module, or a 501 naming the extra that installs it."""
    try:
        import pyarrow  # type: ignore[import-not-found,import-untyped,unused-ignore]
        import pyarrow.parquet  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        raise MissingExtra(
            'Parquet export needs pyarrow: pip install "playhead[parquet]".'
        ) from None
    return pyarrow


def _arrow_schema(pa: Any) -> Any:
    types = {"text": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}
    return pa.schema([(name, types[KINDS[name]]) for name in COLUMNS])


class _Sink(io.RawIOBase):
    """A write-only file whose bytes are taken out as they come (what pyarrow writes to)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        """Everything written since the last call."""
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def _batch(pa: Any, schema: Any, rows: Sequence[Sequence[Any]]) -> Any:
    """A record batch of rows fetched with :func:`_typed` columns, a column at a time (as
    ``RecordBatch.from_pylist`` would make it of the rows' records)."""
    arrays = []
    for field, values in zip(schema, zip(*rows, strict=True), strict=True):
        if KINDS[field.name] == "bool":  # 0/1 (or NULL) as stored; any non-zero is true
            arrays.append(pa.array(values, pa.int64()).cast(pa.bool_()))
        else:
            arrays.append(pa.array(values, field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


async def parquet_chunks(storage: Storage, selection: Selection) -> AsyncIterator[bytes]:
    """The Parquet export: the CSV's columns, one row group per :data:`ROW_GROUP` sessions
    (each chunk of rows made Arrow columns as it comes, so a row group waits as Arrow data)."""
    pa = require_pyarrow()
    schema = _arrow_schema(pa)
    sink = _Sink()
    writer = pa.parquet.ParquetWriter(sink, schema)
    columns = ", ".join(
        _typed(KINDS[name], sql)
        for name, sql in zip(COLUMNS, _expressions(dialect_of(storage)), strict=True)
    )
    batches: list[Any] = []
    waiting = 0
    query = _select(storage, selection, columns)
    async with contextlib.aclosing(storage.scan_chunks(query, CHUNK)) as chunks:
        async for chunk in chunks:
            batches.append(_batch(pa, schema, chunk))
            waiting += len(chunk)
            while waiting >= ROW_GROUP:
                table = pa.Table.from_batches(batches, schema)
                writer.write_table(table.slice(0, ROW_GROUP), row_group_size=ROW_GROUP)
                batches = table.slice(ROW_GROUP).to_batches()
                waiting -= ROW_GROUP
                yield sink.take()
    if waiting:
        writer.write_table(pa.Table.from_batches(batches, schema), row_group_size=ROW_GROUP)
    writer.close()
    yield sink.take()


def csv_rows(data: bytes) -> Iterator[list[str]]:
    """The rows of a CSV export (for readers of it, and tests)."""
    return csv.reader(io.StringIO(data.decode(), newline=""))
