"""Turn a session's fold state into its report document (reports.md, decisions.md rules 9-23)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from playhead.engine.limits import MAX_ADS, MAX_CHAPTERS, MAX_DIAGNOSTICS, Lifecycle
from playhead.engine.ranges import MAX_RANGES
from playhead.engine.report import (
    AdReport,
    ChapterReport,
    Diagnostic,
    QoeDataDetails,
    SessionDetails,
    SessionReport,
    StateReport,
)

if TYPE_CHECKING:
    from playhead.engine.session import SessionFold

_STREAM_MS = 1_800_000


def seconds_since_last_call(fold: SessionFold, lifecycle: Lifecycle) -> float:
    """Return secondsSinceLastCall (rule 21): 0 unless closed otherwise than by end or complete."""
    if lifecycle.state != "closed" or lifecycle.closed_ms is None:
        return 0
    if lifecycle.close_reason == "sessionEnd" or fold.completed:
        return 0
    return max(0, lifecycle.closed_ms - fold.last_received_ms) / 1000


def close_reason(fold: SessionFold, lifecycle: Lifecycle) -> str | None:
    """Return the reported closeReason: an idle close after sessionComplete is one (rule 9)."""
    reason = lifecycle.close_reason
    if reason == "idle" and fold.completed:
        return "sessionComplete"
    return reason


def _cap_diagnostic(ts: int, count: int, what: str, limit: int) -> Diagnostic:
    return Diagnostic(
        ts=ts, event_type=None, problem=f"{count} more {what} not listed (at most {limit} kept)"
    )


def refusal_diagnostic(last_event_ts: int, refused: int) -> Diagnostic:
    """The diagnostic counting events refused with 410 after the close (rule 10)."""
    return Diagnostic(
        ts=last_event_ts,
        event_type=None,
        problem=f"{refused} events refused after the session closed (410)",
    )


def with_refusals(report: SessionReport, refused: int) -> SessionReport:
    """``report`` with the refusal diagnostic added (stored reports leave it out)."""
    if refused <= 0:
        return report
    diagnostic = refusal_diagnostic(report.last_event_ts, refused)
    return msgspec.structs.replace(report, diagnostics=[*report.diagnostics, diagnostic])


def render(fold: SessionFold, lifecycle: Lifecycle) -> SessionReport:
    """Build the :class:`SessionReport` of ``fold`` as ``lifecycle`` sees the session."""
    f = fold
    closed = lifecycle.state == "closed"
    marks = f._markers_set
    time_s = f._time_ms / 1000
    details = SessionDetails(
        is_viewed=True,
        is_played=f._main_played,
        is_completed=f.completed,
        has_resume=f._resume,
        is_downloaded=f.start_params.get("media.downloaded") is True
        or lifecycle.close_reason == "downloaded",
        has_segment_view=f._main_played,
        time_played=time_s,
        total_time_played=f._total_ms / 1000,
        unique_time_played=f._ranges.size(),
        average_minute_audience=time_s / f._length if f._length > 0 else None,
        estimated_streams=f._total_ms // _STREAM_MS + 1 if f._main_played else 0,
        has_progress10=bool(marks & 1),
        has_progress25=bool(marks & 2),
        has_progress50=bool(marks & 4),
        has_progress75=bool(marks & 8),
        has_progress95=bool(marks & 16),
        pause_count=f._pause_count,
        pause_time=f._pause_ms / 1000,
        has_pause_impacted_streams=f._pause_count > 0,
        ad_count=len(f._ads) + f._extra_ads,
        chapter_count=len(f._chapters) + f._extra_chapters,
        seconds_since_last_call=seconds_since_last_call(f, lifecycle),
    )
    if f._tts is not None:
        tts: float | None = f._tts / 1000
    elif f._first_play_ts is not None:
        tts = (f._first_play_ts - f.start_ts) / 1000
    else:
        tts = None
    average: float | None = None
    bucket: str | None = None
    if f._bitrate is not None:
        # With no time played under any bitrate the last value sent stands for the average.
        average = f._br_sum / f._br_ms if f._br_ms > 0 else f._bitrate
        lo = int(average // 100) * 100
        bucket = f"{lo}-{lo + 99}"
    dropped = int(f._dropped) if f._dropped is not None else 0
    qoe = QoeDataDetails(
        time_to_start=tts,
        bitrate_average=average,
        bitrate_average_bucket=bucket,
        bitrate_change_count=f._bitrate_changes,
        has_bitrate_change_impacted_streams=f._bitrate_changes > 0,
        buffer_count=f._buffer_count,
        buffer_time=f._buffer_ms / 1000,
        has_buffer_impacted_streams=f._buffer_count > 0,
        stall_count=f._stall_count,
        stall_time=f._stall_ms / 1000,
        has_stall_impacted_streams=f._stall_count > 0,
        dropped_frames=dropped,
        has_dropped_frame_impacted_streams=dropped > 0,
        error_count=f._error_count,
        has_error_impacted_streams=f._error_count > 0,
        player_sdk_errors=list(f._player_errors or ()),
        external_errors=list(f._external_errors or ()),
        is_dropped_before_start=closed and not f._main_played,
    )
    ads = []
    for ad in f._ads:
        bp = ad.break_params
        ap = ad.event.params
        ads.append(
            AdReport(
                pod_index=bp.get("media.ad.podIndex"),
                pod_second=bp.get("media.ad.podSecond"),
                pod_friendly_name=bp.get("media.ad.podFriendlyName"),
                pod_position=ap.get("media.ad.podPosition"),
                id=ap.get("media.ad.id"),
                name=ap.get("media.ad.name"),
                length=ap.get("media.ad.length"),
                time_played=ad.time_ms / 1000,
                is_started=True,
                is_completed=ad.completed,
                is_skipped=ad.skipped,
                params=dict(ap),
                custom_metadata=dict(ad.event.custom_metadata),
            )
        )
    chapters = []
    for ch in f._chapters:
        cp = ch.event.params
        chapters.append(
            ChapterReport(
                index=cp.get("media.chapter.index"),
                offset=cp.get("media.chapter.offset"),
                length=cp.get("media.chapter.length"),
                friendly_name=cp.get("media.chapter.friendlyName"),
                time_played=ch.time_ms / 1000,
                is_started=True,
                is_completed=ch.completed,
                is_skipped=ch.skipped,
                custom_metadata=dict(ch.event.custom_metadata),
            )
        )
    states: list[StateReport] = [] if f._states is None else f._states.rows(f._last_ts)
    diagnostics = list(f._diags)
    if f._tts_reported is not None:
        reported, event = f._tts_reported
        own_ms = None if f._first_play_ts is None else f._first_play_ts - f.start_ts
        # Rule 19: a fast player really starts in a few ms; only a slow start makes a small
        # reported value look like seconds.
        if 1 <= reported <= 99 and own_ms is not None and own_ms >= 1000:
            problem = f"timeToStart {reported:g} looks like seconds (expected ms)"
            diagnostics.append(Diagnostic(ts=event.ts, event_type=event.type, problem=problem))
    if f._extra_ads:
        diagnostics.append(_cap_diagnostic(f._last_ts, f._extra_ads, "ads", MAX_ADS))
    if f._extra_chapters:
        diagnostics.append(_cap_diagnostic(f._last_ts, f._extra_chapters, "chapters", MAX_CHAPTERS))
    if f._ranges.overflow:
        diagnostics.append(
            Diagnostic(
                ts=f._last_ts,
                event_type=None,
                problem=f"more than {MAX_RANGES} separate playhead ranges played:"
                " later ones not counted in uniqueTimePlayed",
            )
        )
    if f._dropped_diags:
        diagnostics.append(
            _cap_diagnostic(f._last_ts, f._dropped_diags, "diagnostics", MAX_DIAGNOSTICS)
        )
    if lifecycle.refused > 0:
        diagnostics.append(refusal_diagnostic(f._last_ts, lifecycle.refused))
    return SessionReport(
        id=f.sid,
        state=lifecycle.state,
        close_reason=close_reason(f, lifecycle),
        first_event_ts=f.start_ts,
        last_event_ts=f._last_ts,
        params=f.start_params.to_dict(),
        custom_metadata=f.start_metadata.to_dict(),
        session_details=details,
        qoe_data_details=qoe,
        ads=ads,
        chapters=chapters,
        states=states,
        diagnostics=diagnostics,
    )
