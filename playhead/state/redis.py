"""Live state in Redis, shared by any number of processes on any number of machines.

Each session is one Redis hash, keyed by its 32-byte id (the 64 hex digits as raw bytes):

- ``v`` its version, bumped by every change; ``b`` a msgpack snapshot of the session (its
  fold and lifecycle, :class:`_Record`); ``c`` 1 once closed; ``n`` the last arrival sequence
  number handed out; ``p<seq>`` one field per sequence number reserved and not yet folded in,
  holding when it was reserved (so that an event stored by a process that died before folding
  it in is found and folded in from the log by the sweeper).

Every change is one Lua script run atomically by Redis (loaded once, then called by SHA):
``reserve`` and ``commit`` succeed only at the version the caller loaded, which is the
per-session compare-and-set the collector's optimistic loop needs. A sorted set indexes each
session by its next deadline; :meth:`RedisState.due` takes the due ones and leases them (moves
their score a few seconds on) in the same script, so that each due session goes to one sweeping
process at a time, and a process that dies holding a lease only delays it.

Redis is a cache of the stored log: a marker key says the state is complete. When it is missing
(Redis flushed or restarted empty), loads raise :class:`~playhead.errors.Overloaded` (503 with
Retry-After) until one process has rebuilt the open sessions from the log
(:func:`playhead.collector.restore.rebuild_shared`). Redis unreachable or slow is a 503 too.
"""

from __future__ import annotations

import contextlib
import time
import zlib
from collections.abc import AsyncIterator, Awaitable
from typing import Any, Final, TypeVar

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, RedisError

from playhead.engine import SessionFold
from playhead.errors import Overloaded
from playhead.state import Deadline, LiveSession
from playhead.state.wire import ReplyError, Wire

T = TypeVar("T")

# how long a process holds a due session it took before another may take it
LEASE_MS: Final = 10_000
READY: Final = b"ph:ready"
LOCK: Final = b"ph:rebuild"
DUE: Final = b"ph:due"
OPEN: Final = b"ph:open"
_PREFIX: Final = b"ph:s:"
_NOT_READY = "Live session state is being rebuilt from the log; retry shortly."
_DOWN = "Live session state (Redis) unavailable; retry later."


class _Record(msgspec.Struct, array_like=True):
    """What is kept of one session besides its version, counters and reservations."""

    session_id: int
    started_ms: int
    format: str
    applied_seq: int
    close_reason: str | None
    closed_ms: int | None
    evict_ms: int | None
    refused: int
    summarized: int
    fold: SessionFold


_encode_record = msgspec.msgpack.Encoder().encode
_decode_record = msgspec.msgpack.Decoder(_Record).decode
# Snapshots are deflated against a preset dictionary of the usual sessionStart params (what
# every snapshot repeats): about 1,100 bytes become about 460, for about 35 µs of CPU per
# commit (bench/scaling.py). The dictionary is part of the format: change it and the tag with
# it (a snapshot of another tag is not read; the session is rebuilt from the log).
_TAG: Final = b"\x01"
_ZDICT: Final = msgspec.msgpack.encode([
    "analytics.trackingServer", "analytics.reportSuite", "analytics.enableSSL",
    "visitor.marketingCloudOrgId", "visitor.marketingCloudUserId", "media.id", "media.name",
    "media.length", "media.contentType", "media.streamType", "media.playerName",
    "media.channel", "media.libraryVersion", "media.resume", "media.show", "collection",
])  # fmt: skip
_DEFLATE = zlib.compressobj(1, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, _ZDICT)
_INFLATE = zlib.decompressobj(-15, zdict=_ZDICT)


def _encode(record: _Record) -> bytes:
    """A record's snapshot: its tag, then its msgpack deflated against the dictionary."""
    deflate = _DEFLATE.copy()
    return _TAG + deflate.compress(_encode_record(record)) + deflate.flush()


def _decode(data: bytes) -> _Record:
    """The record of a snapshot (``ValueError`` if it is of another tag or damaged)."""
    if data[:1] != _TAG:
        raise ValueError("a live-state snapshot of another format")
    try:
        return _decode_record(_INFLATE.copy().decompress(data[1:]))
    except (zlib.error, msgspec.DecodeError) as exc:
        raise ValueError(f"a damaged live-state snapshot: {exc}") from None


# KEYS: session. ARGV: ready marker. The hash's fields, or 1/0 (state complete or not).
_LOAD = """
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return redis.call('EXISTS', ARGV[1]) end
return h
"""
# KEYS: session, due index. ARGV: ready marker, now, look-again-at, member. As _LOAD, and for
# an open session the next sequence number reserved in the same step (its first element).
_TAKE = """
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return redis.call('EXISTS', ARGV[1]) end
local v, c
for i = 1, #h, 2 do
  if h[i] == 'v' then v = h[i + 1] elseif h[i] == 'c' then c = h[i + 1] end
end
if c ~= '0' then table.insert(h, 1, 0) return h end
local seq = redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('HSET', KEYS[1], 'p' .. seq, ARGV[2], 'v', tonumber(v) + 1)
redis.call('ZADD', KEYS[2], 'LT', ARGV[3], ARGV[4])
table.insert(h, 1, seq)
return h
"""
# KEYS: session, due index, open count. ARGV: blob, last seq, closed, deadline, member.
_ADD = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v', 0, 'b', ARGV[1], 'n', ARGV[2], 'c', ARGV[3])
if ARGV[3] == '0' then redis.call('INCR', KEYS[3]) end
if ARGV[4] ~= '' then redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5]) end
return 1
"""
# KEYS: session, due index. ARGV: expected version, now, look-again-at, member.
# The next sequence number, 0 if the session changed since loaded, -1 if it is gone.
_RESERVE = """
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return -1 end
if v ~= ARGV[1] then return 0 end
local seq = redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('HSET', KEYS[1], 'p' .. seq, ARGV[2], 'v', tonumber(v) + 1)
redis.call('ZADD', KEYS[2], 'LT', ARGV[3], ARGV[4])
return seq
"""
# KEYS: session, due index, open count. ARGV: expected version, blob, closed, deadline,
# member, then the sequence numbers now folded in. 1 if stored, 0 if it changed or is gone.
_COMMIT = """
local v = redis.call('HGET', KEYS[1], 'v')
if not v or v ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', tonumber(v) + 1, 'b', ARGV[2])
if ARGV[3] == '1' and redis.call('HGET', KEYS[1], 'c') ~= '1' then
  redis.call('HSET', KEYS[1], 'c', 1)
  redis.call('DECR', KEYS[3])
end
for i = 6, #ARGV do redis.call('HDEL', KEYS[1], 'p' .. ARGV[i]) end
if ARGV[4] == '' then redis.call('ZREM', KEYS[2], ARGV[5])
else redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5]) end
return 1
"""
# KEYS: session, due index, open count. ARGV: member.
_REMOVE = """
local c = redis.call('HGET', KEYS[1], 'c')
if c == '0' then redis.call('DECR', KEYS[3]) end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""
# KEYS: due index. ARGV: now, lease until, most. The members due, each leased.
_DUE = """
local m = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, x in ipairs(m) do redis.call('ZADD', KEYS[1], ARGV[2], x) end
return m
"""
_SCRIPTS: Final = {
    "load": _LOAD,
    "take": _TAKE,
    "add": _ADD,
    "reserve": _RESERVE,
    "commit": _COMMIT,
    "remove": _REMOVE,
    "due": _DUE,
}


def _key(member: bytes) -> bytes:
    return _PREFIX + member


class RedisState:
    """Live sessions in Redis (``redis://host:port/db``), shared by every process using it.

    Args:
        url: the Redis URL.
        deadline: when the sweeper must look at a session next (``None``: never).
        timeout: seconds a Redis call may take before the request gets 503.
        lease_ms: how long a due session taken by one process is hidden from the others.
        stale_ms: after how long a reserved, unfolded sequence number counts as an orphan
            (default: three times ``timeout``: a write is answered 503 after one).
        clock: epoch milliseconds (reservations are stamped with it).
    """

    shared = True

    def __init__(
        self,
        url: str,
        deadline: Deadline,
        *,
        timeout: float = 5.0,
        lease_ms: int = LEASE_MS,
        stale_ms: int | None = None,
        clock: Any = None,
    ) -> None:
        self.url = url
        self._deadline = deadline
        self._lease_ms = lease_ms
        # a write answered 503 after one timeout; three of them and it surely settled
        self._stale_ms = int(3000 * timeout) if stale_ms is None else stale_ms
        self._clock = clock or (lambda: time.time_ns() // 1_000_000)
        self._redis: Any = aioredis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, max_connections=256
        )
        self._sha: dict[str, str] = {}
        # the hot path's scripts go over one pipelined connection (see wire.py); the rest
        # (pipelines, scans, admin) through redis-py
        self._wire = Wire(url, timeout) if url.startswith("redis://") else None
        # sessions this process changed since its last summary pass (sessions() answers them)
        self._touched: set[bytes] = set()

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Load the scripts (their SHA is kept; a flushed script cache loads them again)."""
        for name, body in _SCRIPTS.items():
            sha = await self._call(self._redis.script_load(body))
            self._sha[name] = sha.decode() if isinstance(sha, bytes) else sha

    async def stop(self) -> None:
        """Close the connections."""
        if self._wire is not None:
            await self._wire.close()
        await self._redis.aclose()

    async def _call(self, awaitable: Awaitable[T]) -> T:
        try:
            return await awaitable
        except (RedisError, OSError) as exc:
            raise Overloaded(_DOWN) from exc

    async def _script(self, name: str, keys: list[bytes], args: list[Any]) -> Any:
        if not self._sha:
            await self.start()
        wire = self._wire
        try:
            if wire is None:
                try:
                    return await self._redis.evalsha(self._sha[name], len(keys), *keys, *args)
                except NoScriptError:  # Redis restarted: its script cache is empty
                    self._sha[name] = await self._redis.script_load(_SCRIPTS[name])
                    return await self._redis.evalsha(self._sha[name], len(keys), *keys, *args)
            try:
                return await wire.call("EVALSHA", self._sha[name], len(keys), *keys, *args)
            except ReplyError as exc:
                if not str(exc).startswith("NOSCRIPT"):
                    raise
                self._sha[name] = (await wire.call("SCRIPT", "LOAD", _SCRIPTS[name])).decode()
                return await wire.call("EVALSHA", self._sha[name], len(keys), *keys, *args)
        except (RedisError, OSError, ReplyError) as exc:
            raise Overloaded(_DOWN) from exc

    # ------------------------------------------------------------------ the seam
    async def load(self, sid: str) -> LiveSession | None:
        """The session, or ``None`` if Redis holds no such session; 503 while rebuilding."""
        try:
            member = bytes.fromhex(sid)
        except ValueError:
            return None
        found = await self._script("load", [_key(member)], [READY])
        if isinstance(found, int):
            if found == 0:
                raise Overloaded(_NOT_READY)
            return None
        try:
            return self._session(sid, found)
        except ValueError:  # a snapshot of another version: dropped, rebuilt from the log
            await self.remove(sid)
            return None

    async def take(self, sid: str) -> LiveSession | None:
        """:meth:`load` and, if the session is open, :meth:`reserve_seq` in one step (the next
        :meth:`reserve_seq` of the copy answers the number reserved); the event path's load."""
        try:
            member = bytes.fromhex(sid)
        except ValueError:
            return None
        now = self._clock()
        args = [READY, now, now + self._stale_ms, member]
        found = await self._script("take", [_key(member), DUE], args)
        if isinstance(found, int):
            if found == 0:
                raise Overloaded(_NOT_READY)
            return None
        seq = int(found[0])
        try:
            live = self._session(sid, found[1:])
        except ValueError:
            await self.remove(sid)
            return None
        if seq:
            # the fields were read before the reservation: apply it to the copy
            live.version += 1
            live.next_seq = seq + 1
            reserved = dict(live.reserved) if live.reserved else {}
            reserved[seq] = now
            live.reserved = reserved
            live.settled = (seq,)
            live.taken = seq
        return live

    def _session(self, sid: str, fields: list[bytes]) -> LiveSession:
        values = dict(zip(fields[::2], fields[1::2], strict=True))
        record = _decode(values[b"b"])
        live = LiveSession(record.session_id, sid, record.started_ms, record.fold, record.format)
        live.version = int(values[b"v"])
        live.next_seq = int(values[b"n"]) + 1
        live.applied_seq = record.applied_seq
        live.close_reason = record.close_reason
        live.closed_ms = record.closed_ms
        live.evict_ms = record.evict_ms
        live.refused = record.refused
        live.summarized = record.summarized
        live.counted = record.close_reason is None
        reserved = {int(name[1:]): int(at) for name, at in values.items() if name.startswith(b"p")}
        if reserved:
            oldest_fresh = self._clock() - self._stale_ms
            live.stale = [seq for seq, at in reserved.items() if at < oldest_fresh]
            live.inflight = len(reserved) - len(live.stale)
            live.reserved = reserved
        return live

    def peek(self, sid: str) -> LiveSession | None:
        """Always ``None``: nothing is held in this process's memory."""
        return None

    def _blob(self, live: LiveSession) -> bytes:
        return _encode(
            _Record(
                live.session_id,
                live.started_ms,
                live.format,
                live.applied_seq,
                live.close_reason,
                live.closed_ms,
                live.evict_ms,
                live.refused,
                live.summarized,
                live.fold,
            )
        )

    def _score(self, live: LiveSession, reserved: dict[int, int] | None) -> str:
        deadline = self._deadline(live)
        if reserved:
            look = min(reserved.values()) + self._stale_ms
            deadline = look if deadline is None else min(deadline, look)
        return "" if deadline is None else str(deadline)

    async def add(self, session: LiveSession) -> None:
        """Hold a new session (kept as it is if another process added it first)."""
        member = bytes.fromhex(session.sid)
        closed = "0" if session.close_reason is None else "1"
        score = self._score(session, None)
        args = [self._blob(session), session.next_seq - 1, closed, score, member]
        await self._script("add", [_key(member), DUE, OPEN], args)
        session.counted = session.close_reason is None
        self._touched.add(member)

    async def commit(self, session: LiveSession, expected: int) -> bool:
        """Store the session if it is still at version ``expected``, with the sequence numbers
        in ``session.settled`` marked folded in."""
        member = bytes.fromhex(session.sid)
        settled = session.settled
        reserved = session.reserved
        if reserved and settled:
            reserved = {seq: at for seq, at in reserved.items() if seq not in settled}
        closed = "0" if session.close_reason is None else "1"
        args = [expected, self._blob(session), closed, self._score(session, reserved), member]
        if settled:
            args.extend(settled)
        done = await self._script("commit", [_key(member), DUE, OPEN], args)
        if done != 1:
            return False
        session.version = expected + 1
        session.settled = []
        session.reserved = reserved
        session.counted = session.close_reason is None
        self._touched.add(member)
        return True

    async def remove(self, sid: str) -> None:
        """Stop holding a session."""
        member = bytes.fromhex(sid)
        await self._script("remove", [_key(member), DUE, OPEN], [member])
        self._touched.discard(member)

    async def reserve_seq(self, session: LiveSession) -> int:
        """The session's next sequence number, reserved atomically across processes, or 0 if
        the session changed since it was loaded (load it again); the session's version moves on
        with the reservation."""
        if session.taken:  # reserved when it was loaded
            seq, session.taken = session.taken, 0
            return seq
        member = bytes.fromhex(session.sid)
        now = self._clock()
        args = [session.version, now, now + self._stale_ms, member]
        seq = int(await self._script("reserve", [_key(member), DUE], args))
        if seq <= 0:
            return 0
        session.version += 1
        session.next_seq = seq + 1
        reserved = dict(session.reserved) if session.reserved else {}
        reserved[seq] = now
        session.reserved = reserved
        session.settled = [*session.settled, seq]
        return seq

    async def due(self, now: int) -> list[LiveSession]:
        """Due sessions, each leased to this process for a while (cooperative sweeping)."""
        members = await self._script("due", [DUE], [now, now + self._lease_ms, 1000])
        if not members:
            return []
        found = []
        async with self._redis.pipeline(transaction=False) as pipe:
            for member in members:
                pipe.hgetall(_key(member))
            results = await self._call(pipe.execute())
        for member, fields in zip(members, results, strict=True):
            if fields:
                flat = [x for pair in fields.items() for x in pair]
                with contextlib.suppress(ValueError):  # another version: rebuilt when used
                    found.append(self._session(member.hex(), flat))
            else:
                await self._call(self._redis.zrem(DUE, member))
        return found

    async def count(self) -> int:
        """How many sessions are open, across every process."""
        if self._wire is None:
            value = await self._call(self._redis.get(OPEN))
        else:
            try:
                value = await self._wire.call("GET", OPEN)
            except (OSError, ReplyError) as exc:
                raise Overloaded(_DOWN) from exc
        return int(value or 0)

    async def sessions(self) -> AsyncIterator[LiveSession]:
        """The sessions this process changed since the last call (each process summarizes what
        it touched, so no process scans every session)."""
        touched, self._touched = self._touched, set()
        for member in touched:
            fields = await self._call(self._redis.hgetall(_key(member)))
            if fields:
                with contextlib.suppress(ValueError):
                    yield self._session(member.hex(), [x for pair in fields.items() for x in pair])

    # ------------------------------------------------------------------ rebuilding
    async def ready(self) -> bool:
        """Whether the state is complete (not flushed since the last rebuild)."""
        return bool(await self._call(self._redis.exists(READY)))

    async def lock_rebuild(self, owner: str, seconds: int = 30) -> bool:
        """Take (or extend, if ours) the rebuild lock; False if another process holds it."""
        if await self._call(self._redis.set(LOCK, owner, nx=True, ex=seconds)):
            return True
        if await self._call(self._redis.get(LOCK)) == owner.encode():
            await self._call(self._redis.expire(LOCK, seconds))
            return True
        return False

    async def mark_ready(self, owner: str) -> None:
        """Mark the state complete and release the rebuild lock."""
        await self._call(self._redis.set(READY, owner))
        await self._call(self._redis.delete(LOCK))

    async def memory_usage(self, sid: str) -> int:
        """Bytes Redis spends on one session's hash (for the benchmark)."""
        return int(await self._call(self._redis.memory_usage(_key(bytes.fromhex(sid)))) or 0)
