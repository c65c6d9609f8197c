"""Turn a session's fold state into its report document (reports.md, decisions.md rules 9-23)."""

from __future__ import annotations

import msgspec

from playhead.engine.limits import MAX_ADS, MAX_CHAPTERS, MAX_DIAGNOSTICS, Lifecycle
from playhead.engine.model import SPAN_STATES, FoldState
from playhead.engine.ranges import MAX_RANGES
from playhead.engine.report import (
    AdReport,
    ChapterReport,
    Diagnostic,
    QoeDataDetails,
    SessionDetails,
    SessionReport,
    Span,
    StateReport,
)
from playhead.engine.scores import session_scores

_STREAM_MS = 1_800_000


def seconds_since_last_call(fold: FoldState, lifecycle: Lifecycle) -> float:
    """Return secondsSinceLastCall (rule 21): 0 unless closed otherwise than by end or complete."""
    if lifecycle.state != "closed" or lifecycle.closed_ms is None:
        return 0
    if lifecycle.close_reason == "sessionEnd" or fold.completed:
        return 0
    return max(0, lifecycle.closed_ms - fold.last_received_ms) / 1000


def close_reason(fold: FoldState, lifecycle: Lifecycle) -> str | None:
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


def render(fold: FoldState, lifecycle: Lifecycle) -> SessionReport:
    """Build the :class:`SessionReport` of ``fold`` as ``lifecycle`` sees the session."""
    f = fold
    closed = lifecycle.state == "closed"
    marks = f.markers_set
    time_s = f.time_ms / 1000
    details = SessionDetails(
        is_viewed=True,
        is_played=f.main_played,
        is_completed=f.completed,
        has_resume=f.resume,
        is_downloaded=f.start_params.get("media.downloaded") is True
        or lifecycle.close_reason == "downloaded",
        has_segment_view=f.main_played,
        time_played=time_s,
        total_time_played=f.total_ms / 1000,
        unique_time_played=f.ranges.size(),
        average_minute_audience=time_s / f.length if f.length > 0 else None,
        estimated_streams=f.total_ms // _STREAM_MS + 1 if f.main_played else 0,
        has_progress10=bool(marks & 1),
        has_progress25=bool(marks & 2),
        has_progress50=bool(marks & 4),
        has_progress75=bool(marks & 8),
        has_progress95=bool(marks & 16),
        pause_count=f.pause_count,
        pause_time=f.pause_ms / 1000,
        has_pause_impacted_streams=f.pause_count > 0,
        ad_count=len(f.ads or ()) + f.extra_ads,
        chapter_count=len(f.chapters or ()) + f.extra_chapters,
        seconds_since_last_call=seconds_since_last_call(f, lifecycle),
    )
    if f.time_to_start is not None:
        tts: float | None = f.time_to_start / 1000
    elif f.first_play_ts is not None:
        tts = (f.first_play_ts - f.start_ts) / 1000
    else:
        tts = None
    average: float | None = None
    bucket: str | None = None
    if f.bitrate is not None:
        # With no time played under any bitrate the last value sent stands for the average.
        average = f.bitrate_sum / f.bitrate_ms if f.bitrate_ms > 0 else f.bitrate
        lo = int(average // 100) * 100
        bucket = f"{lo}-{lo + 99}"
    dropped = int(f.dropped_frames) if f.dropped_frames is not None else 0
    qoe = QoeDataDetails(
        time_to_start=tts,
        bitrate_average=average,
        bitrate_average_bucket=bucket,
        bitrate_change_count=f.bitrate_changes,
        has_bitrate_change_impacted_streams=f.bitrate_changes > 0,
        buffer_count=f.buffer_count,
        buffer_time=f.buffer_ms / 1000,
        has_buffer_impacted_streams=f.buffer_count > 0,
        stall_count=f.stall_count,
        stall_time=f.stall_ms / 1000,
        has_stall_impacted_streams=f.stall_count > 0,
        dropped_frames=dropped,
        has_dropped_frame_impacted_streams=dropped > 0,
        error_count=f.error_count,
        has_error_impacted_streams=f.error_count > 0,
        player_sdk_errors=list(f.player_errors or ()),
        external_errors=list(f.external_errors or ()),
        is_dropped_before_start=closed and not f.main_played,
    )
    ads = []
    for ad in f.ads or ():
        bp = ad.break_params
        ap = ad.params
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
                custom_metadata=dict(ad.custom_metadata),
            )
        )
    chapters = []
    for ch in f.chapters or ():
        cp = ch.params
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
                custom_metadata=dict(ch.custom_metadata),
            )
        )
    states: list[StateReport] = [] if f.states is None else f.states.rows(f.last_ts)
    diagnostics = list(f.diagnostics or ())
    if f.reported_tts is not None:
        reported, reported_ts, reported_type = f.reported_tts
        own_ms = None if f.first_play_ts is None else f.first_play_ts - f.start_ts
        # Rule 19: a fast player really starts in a few ms; only a slow start makes a small
        # reported value look like seconds.
        if 1 <= reported <= 99 and own_ms is not None and own_ms >= 1000:
            problem = f"timeToStart {reported:g} looks like seconds (expected ms)"
            diagnostics.append(
                Diagnostic(ts=reported_ts, event_type=reported_type, problem=problem)
            )
    if f.extra_ads:
        diagnostics.append(_cap_diagnostic(f.last_ts, f.extra_ads, "ads", MAX_ADS))
    if f.extra_chapters:
        diagnostics.append(_cap_diagnostic(f.last_ts, f.extra_chapters, "chapters", MAX_CHAPTERS))
    if f.ranges.overflow:
        diagnostics.append(
            Diagnostic(
                ts=f.last_ts,
                event_type=None,
                problem=f"more than {MAX_RANGES} separate playhead ranges played:"
                " later ones not counted in uniqueTimePlayed",
            )
        )
    if f.dropped_diagnostics:
        diagnostics.append(
            _cap_diagnostic(f.last_ts, f.dropped_diagnostics, "diagnostics", MAX_DIAGNOSTICS)
        )
    if lifecycle.refused > 0:
        diagnostics.append(refusal_diagnostic(f.last_ts, lifecycle.refused))
    return SessionReport(
        id=f.sid,
        state=lifecycle.state,
        close_reason=close_reason(f, lifecycle),
        first_event_ts=f.start_ts,
        last_event_ts=f.last_ts,
        params=f.start_params.to_dict(),
        custom_metadata=f.start_metadata.to_dict(),
        session_details=details,
        qoe_data_details=qoe,
        ads=ads,
        chapters=chapters,
        states=states,
        diagnostics=diagnostics,
        scores=session_scores(f.start_ts, f.last_ts, details, qoe),
        timeline=[Span(a, b, SPAN_STATES[state], pa, pb) for a, b, state, pa, pb in f.spans or ()],
        watched_ranges=f.ranges.ranges(),
    )
