-- wrk script: realistic Collection API traffic over a pre-created pool of sessions.
--
-- Data (PLAYHEAD_WRK_DATA, written by `python bench/loadgen.py pool`): `scripts`, a list of
-- simulator sessions (element 1 = sessionStart body, then its events with valid, increasing
-- ts: mostly pings, plus play, pauseStart/play, bufferStart/play, bitrateChange, chapters,
-- states, ad breaks with adStart/adComplete/adBreakComplete, errors, sessionComplete,
-- sessionEnd), and `pool`, {sid, script index} of sessions created before the run.
--
-- Each wrk thread owns the pool slots i = tid, tid + nthreads, ... (nthreads = first script
-- argument). Every slot starts at a random position of its script so that sessions end all
-- through the run; a session whose script is exhausted is replaced by a new one via
-- POST /api/v1/sessions, whose Location (read in response()) gives the new sid. With
-- thousands of slots per thread and at most a few hundred requests in flight, one session
-- never has two requests in flight, so every session's ts arrive increasing.
-- response() counts non-2xx; done() prints one `JSON {...}` line with the figures.

local data = os.getenv("PLAYHEAD_WRK_DATA") or "bench/lua/data.lua"
dofile(data)

local threads = {}
local next_tid = 0

function setup(thread)
   next_tid = next_tid + 1
   thread:set("tid", next_tid)
   table.insert(threads, thread)
end

function init(args)
   local nthreads = tonumber(args[1]) or 1
   math.randomseed(tid * 7919 + os.time())
   slots = {}
   for i = tid, #pool, nthreads do
      local p = pool[i]
      local n = #scripts[p[2]]
      local pos = 2
      if n > 3 then pos = math.random(2, n - 1) end
      slots[#slots + 1] = {sid = p[1], script = p[2], pos = pos, waiting = false}
   end
   cursor = 0
   pending = {}        -- FIFO of slots waiting for their sessionStart's Location
   p_head, p_tail = 1, 0
   non2xx = 0
   responses = 0
   starts = 0
   s503 = 0
   s4xx = 0
   s400, s404, s410 = 0, 0, 0
   hdrs = {["Content-Type"] = "application/json"}
end

function request()
   local n = #slots
   for _ = 1, n do
      cursor = cursor % n + 1
      local s = slots[cursor]
      if not s.waiting then
         if s.sid == nil then
            s.waiting = true
            s.script = math.random(#scripts)
            p_tail = p_tail + 1
            pending[p_tail] = s
            return wrk.format("POST", "/api/v1/sessions", hdrs, scripts[s.script][1])
         end
         local sc = scripts[s.script]
         local body = sc[s.pos]
         local path = "/api/v1/sessions/" .. s.sid .. "/events"
         s.pos = s.pos + 1
         if s.pos > #sc then s.sid = nil end
         return wrk.format("POST", path, hdrs, body)
      end
   end
   return wrk.format("GET", "/api/v1/schemas/ping")  -- every slot busy (not expected)
end

function response(status, headers, body)
   responses = responses + 1
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
      if status == 503 then s503 = s503 + 1 elseif status >= 400 and status < 500 then s4xx = s4xx + 1 end
      if status == 400 then s400 = s400 + 1 elseif status == 404 then s404 = s404 + 1 elseif status == 410 then s410 = s410 + 1 end
   end
   -- a failed sessionStart leaves its slot waiting (one slot fewer; counted in non2xx)
   local loc = headers["location"] or headers["Location"]
   if loc ~= nil and p_head <= p_tail then
      local s = pending[p_head]
      pending[p_head] = nil
      p_head = p_head + 1
      s.waiting = false
      s.sid = string.match(loc, "/sessions/(%x+)$")
      s.pos = 2
      starts = starts + 1
   end
end

function done(summary, latency, requests)
   local non, resp, st, e503, e4xx = 0, 0, 0, 0, 0
   local e400, e404, e410 = 0, 0, 0
   for _, t in ipairs(threads) do
      non = non + (t:get("non2xx") or 0)
      resp = resp + (t:get("responses") or 0)
      st = st + (t:get("starts") or 0)
      e503 = e503 + (t:get("s503") or 0)
      e4xx = e4xx + (t:get("s4xx") or 0)
      e400 = e400 + (t:get("s400") or 0)
      e404 = e404 + (t:get("s404") or 0)
      e410 = e410 + (t:get("s410") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'JSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"non2xx":%d,"status_503":%d,"status_4xx":%d,"status_400":%d,"status_404":%d,"status_410":%d,"responses":%d,"session_starts":%d,' ..
      '"latency_us":{"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p75":%d,"p90":%d,"p99":%d,"p99.9":%d}}\n',
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
      non, e503, e4xx, e400, e404, e410, resp, st,
      latency.mean, latency.stdev, latency.max, latency:percentile(50), latency:percentile(75),
      latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
