--[[
  Appends one tenant's events to its stream. Everything happens in one script, so it is atomic:
  the rate check, the dedupe check, XADD, the trim and the live notification. A batch is stored
  whole or not at all.

  KEYS[1] the tenant's stream
  KEYS[2] dedupe key prefix: prefix .. hash(source, id) holds the offset of the stored copy
  KEYS[3] rate-limit key prefix: prefix .. 'tat' holds the tenant's theoretical arrival time (GCRA), in ms
  KEYS[4] the tenant's origins hash: web integration id -> JSON array of its validOrigins
  KEYS[5] the tenant's live channel, notified when at least one event is new (a key too: on a
          cluster, a shard channel must map to the script's slot)

  ARGV[1] how to notify: 'PUBLISH' (classic pub/sub, one Redis) or 'SPUBLISH' (sharded, Redis Cluster)
  ARGV[2] MAXLEN: approximate length cap; 0 means none
  ARGV[3] max age in ms: entries older are trimmed (XTRIM MINID); 0 means none
  ARGV[4] dedupe window in seconds
  ARGV[5] rate limit in events per second for this tenant; 0 means none
  ARGV[6] burst: the most events the tenant may send at once (at least the largest batch it may send)
  ARGV[7..] triples: dedupe hash, event JSON, origins op
            (origins op: '' for none, 'S<id>\n<JSON array>' to set, 'D<id>' to delete;
             applied only when the event is new, so the hash follows the stream's order)

  Returns {'ok', flags, offset1, offset2, ...}: flags holds one character per event, '1' for a
  duplicate (its offset is the stored copy's) and '0' for a new one (one string rather than a
  number per event: half the reply's elements),
  or {'rate', retryAfterMs, aheadMs} when the tenant is over its limit (and nothing is written):
  retryAfterMs is when this write would fit, aheadMs how far the tenant's arrival time is ahead
  of Redis's clock.

  The rate limit is the generic cell rate algorithm (GCRA, a token bucket kept as one time): each
  event moves the tenant's arrival time on by 1000 / limit ms, and a write is refused when that
  time would end up more than `burst` events' worth ahead of now. A tenant may so send one burst
  at once after a pause, and otherwise its events are spread evenly at its limit: unlike a count
  per clock second, a busy tenant's second's worth does not land at once, ahead of everyone else's.

  Each entry has two fields: 'e', the event JSON, and 'p', the offset of the entry before it
  ('0-0' for the first ever). A reader compares 'p' of the oldest retained entry with its own
  offset to know, exactly, whether retention trimmed events it has not seen.

  Live notification payload, one line per item:
    line 1: the offset of the stream's last entry before this write ('0-0' if none)
    then:   '<offset> <event JSON>' for each new event, in order
  JSON text never holds a raw newline, so lines split cleanly.
]]
local stream = KEYS[1]
local dedupePrefix = KEYS[2]
local ratePrefix = KEYS[3]
local originsKey = KEYS[4]
local channel = KEYS[5]
local publish = ARGV[1]
local maxLen = tonumber(ARGV[2])
local maxAgeMs = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local rateLimit = tonumber(ARGV[5])
local burst = tonumber(ARGV[6])
local count = (#ARGV - 6) / 3

local now = redis.call('TIME')

if rateLimit > 0 then
  local tatKey = ratePrefix .. 'tat'
  local nowMs = tonumber(now[1]) * 1000 + tonumber(now[2]) / 1000
  local tat = math.max(tonumber(redis.call('GET', tatKey) or '0'), nowMs)
  local nextTat = tat + count * 1000 / rateLimit
  local tolerance = burst * 1000 / rateLimit
  if nextTat - nowMs > tolerance then
    return {'rate', tostring(math.ceil(nextTat - nowMs - tolerance)), tostring(math.floor(tat - nowMs))}
  end
  redis.call('SET', tatKey, string.format('%.3f', nextTat), 'PX', math.ceil(nextTat - nowMs) + 1)
end

-- The id of the stream's last entry, even when retention has emptied the stream.
local function lastOffset(key)
  local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
  if last[1] then return last[1][1] end
  if redis.call('EXISTS', key) == 0 then return '0-0' end
  local info = redis.call('XINFO', 'STREAM', key)
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then return info[i + 1] end
  end
  return '0-0'
end

local result = {'ok', ''}
local flags = {}
local lines = nil
local prev = nil

-- The dedupe keys of every event, looked up with MGET in chunks: one command for a batch instead of
-- a GET per event (each redis.call costs more than the lookup itself). A chunk bounds what unpack()
-- puts on Lua's stack, whatever the relay's batch cap.
local dedupeKeys = {}
for i = 1, count do dedupeKeys[i] = dedupePrefix .. ARGV[4 + i * 3] end
local stored = {}
for from = 1, count, 1000 do
  local to = math.min(from + 999, count)
  local found = redis.call('MGET', unpack(dedupeKeys, from, to))
  for j = 1, to - from + 1 do stored[from + j - 1] = found[j] end
end
-- Pairs stored earlier in this call: a batch may hold the same pair twice.
local added = {}

for i = 1, count do
  local dedupeKey = dedupeKeys[i]
  local existing = stored[i] or added[dedupeKey]
  if existing then
    result[i + 2] = existing
    flags[i] = '1'
  else
    local json = ARGV[5 + i * 3]
    local originsOp = ARGV[6 + i * 3]
    if lines == nil then
      prev = lastOffset(stream)
      lines = {prev}
    end
    -- Trimmed once after the loop (XTRIM below): the same approximate cap, without its check per entry.
    local offset = redis.call('XADD', stream, '*', 'e', json, 'p', prev)
    prev = offset
    added[dedupeKey] = offset
    -- SETEX rather than SET … EX: the same key and TTL, no option parsing, in the loop's costliest call.
    redis.call('SETEX', dedupeKey, window, offset)
    if originsOp ~= '' then
      local kind = string.sub(originsOp, 1, 1)
      if kind == 'S' then
        local newline = string.find(originsOp, '\n', 2, true)
        redis.call('HSET', originsKey, string.sub(originsOp, 2, newline - 1), string.sub(originsOp, newline + 1))
      elseif kind == 'D' then
        redis.call('HDEL', originsKey, string.sub(originsOp, 2))
      end
    end
    -- The pieces of '\n<offset> <json>', joined once by table.concat: no string per event here.
    local n = #lines
    lines[n + 1] = '\n'
    lines[n + 2] = offset
    lines[n + 3] = ' '
    lines[n + 4] = json
    result[i + 2] = offset
    flags[i] = '0'
  end
end

if lines ~= nil then
  -- Approximate (~) trims whole radix-tree nodes only, as XADD's MAXLEN ~ would have entry by entry.
  if maxLen > 0 then redis.call('XTRIM', stream, 'MAXLEN', '~', maxLen) end
  if maxAgeMs > 0 then
    local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
    redis.call('XTRIM', stream, 'MINID', '~', tostring(nowMs - maxAgeMs))
  end
  redis.call(publish, channel, table.concat(lines))
end

result[2] = table.concat(flags)
return result
