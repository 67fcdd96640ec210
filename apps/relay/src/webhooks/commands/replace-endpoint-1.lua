--[[
  Replaces a webhook endpoint's JSON only if it is still what the caller read: a compare-and-set,
  so that two updates at once (a PATCH, a rotation, the worker's failure clock) never lose each
  other's fields. The caller reads, changes, and calls this; on 0 it reads again and retries.
  (WATCH/MULTI would need a connection per update: WATCH belongs to the connection, which the
  relay's requests share.)

  KEYS[1] the tenant's endpoints hash: endpoint id -> endpoint JSON

  ARGV[1] the endpoint's id
  ARGV[2] the JSON the caller read
  ARGV[3] the JSON to store

  Returns 1 when replaced, 0 when the stored JSON differs from ARGV[2], -1 when the endpoint is gone.
]]
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then
  return -1
end
if current ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
