"""Erasing one viewer's data (``POST /admin/viewers/{viewerKey}/delete``, ``playhead
delete-viewer KEY``): every session with that viewer key, with its events and summaries, from
every table.

The viewer's sessions still held live are let go first (so nothing of theirs is written again),
then their rows and the stored ones are deleted on the storage writer, after every write
submitted before. A write of one of those sessions already under way at that moment (an
event's summary, say) could still land afterwards, so the same sessions are deleted once more
a moment later. Repeating the request finds nothing and answers zeros.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

import msgspec

from playhead.events import viewer_key
from playhead.state import LiveState
from playhead.storage import Storage
from playhead.storage.deletion import viewer_sessions

log = logging.getLogger("playhead.ops")
# When the second deletion of a viewer's live sessions runs (after writes under way settle).
AGAIN_AFTER_S: Final = 1.0
_pending: set[asyncio.Task[None]] = set()


class Erased(msgspec.Struct, frozen=True):
    """What one deletion removed."""

    viewer: str
    sessions: int
    events: int


async def delete_viewer(storage: Storage, state: LiveState | None, key: str) -> Erased:
    """Delete every session of viewer ``key`` (live ones let go first); what went."""
    live_ids: list[int] = []
    if state is not None:
        async for live in state.sessions():
            if viewer_key(live.fold.start_params.to_dict()) == key:
                live_ids.append(live.session_id)
                await state.remove(live.sid)
    ids = sorted(set(live_ids) | set(await storage.read(viewer_sessions(key))))
    sessions, events = await storage.delete_sessions(ids) if ids else (0, 0)
    if live_ids:
        task = asyncio.ensure_future(_again(storage, live_ids))
        _pending.add(task)
        task.add_done_callback(_pending.discard)
    if sessions:
        log.info(
            "deleted viewer data: %d sessions, %d events",
            sessions,
            events,
            extra={"data": {"sessions": sessions, "events": events}},
        )
    return Erased(key, sessions, events)


async def _again(storage: Storage, ids: list[int]) -> None:
    await asyncio.sleep(AGAIN_AFTER_S)
    try:
        await storage.delete_sessions(ids)
    except Exception:  # stopped meanwhile, or the store failed: logged, the first pass stands
        log.exception("second deletion of %d live sessions failed", len(ids))
