"""Exports of the selected sessions, streamed a chunk at a time from one read snapshot:
CSV (RFC 4180), NDJSON (each session's whole report per line) and Parquet (the CSV's columns;
needs the ``parquet`` extra, pyarrow).

Rows come from :meth:`Storage.scan`, so memory stays flat however many sessions are selected.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Final

from playhead.errors import MissingExtra
from playhead.reports import aggregate
from playhead.reports.aggregate import list_row
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
CHUNK: Final = 2000


def _cast(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "bool":
        return bool(value)
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    return value if isinstance(value, str) else str(value)


def _query(storage: Storage, selection: Selection, extra: str) -> Query[Any]:
    sql, args = aggregate.sessions_query(selection, dialect_of(storage), "firstEventTs", None, None)
    head, _, tail = sql.partition(f" {FROM}")
    return Query(f"{head}, {extra} {FROM}{tail}", args, list)


async def records(storage: Storage, selection: Selection) -> AsyncIterator[dict[str, Any]]:
    """Every selected session as a record of :data:`COLUMNS`, oldest first."""
    extra = ", ".join(f"ss.{column}" for _, column, _ in FIELDS)
    width = len(aggregate.LIST_FIELDS) + 1  # the list's columns and the key
    async for row in storage.scan(_query(storage, selection, extra), CHUNK):
        record = list_row(row[:width])
        for (name, _, kind), value in zip(FIELDS, row[width:], strict=True):
            record[name] = _cast(kind, value)
        yield record


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return "" if value is None else value


async def csv_chunks(storage: Storage, selection: Selection) -> AsyncIterator[bytes]:
    """The CSV export: a header row, then one row per session (RFC 4180, CRLF)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count = 0
    async for record in records(storage, selection):
        writer.writerow([_csv_value(record[name]) for name in COLUMNS])
        count += 1
        if count % 500 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


async def ndjson_chunks(storage: Storage, selection: Selection) -> AsyncIterator[bytes]:
    """The NDJSON export: each selected session's stored report, one per line, oldest first."""
    parts: list[bytes] = []
    report = "(SELECT r.report FROM session_summaries r WHERE r.session_id = ss.session_id)"
    async for row in storage.scan(_query(storage, selection, report), CHUNK):
        parts.append(bytes(row[-1]))
        parts.append(b"\n")
        if len(parts) >= 1000:
            yield b"".join(parts)
            parts.clear()
    yield b"".join(parts)


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


def _batch(pa: Any, schema: Any, rows: Sequence[dict[str, Any]]) -> Any:
    return pa.RecordBatch.from_pylist(list(rows), schema=schema)


async def parquet_chunks(storage: Storage, selection: Selection) -> AsyncIterator[bytes]:
    """The Parquet export: the CSV's columns, one row group per few thousand sessions."""
    pa = require_pyarrow()
    schema = _arrow_schema(pa)
    sink = _Sink()
    writer = pa.parquet.ParquetWriter(sink, schema)
    rows: list[dict[str, Any]] = []
    async for record in records(storage, selection):
        rows.append(record)
        if len(rows) >= 10_000:
            writer.write_batch(_batch(pa, schema, rows))
            rows.clear()
            yield sink.take()
    if rows:
        writer.write_batch(_batch(pa, schema, rows))
    writer.close()
    yield sink.take()


def csv_rows(data: bytes) -> Iterator[list[str]]:
    """The rows of a CSV export (for readers of it, and tests)."""
    return csv.reader(io.StringIO(data.decode(), newline=""))
