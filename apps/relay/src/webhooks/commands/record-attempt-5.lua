--[[
  Records one delivery attempt (or a delivery failed without one) in the delivery log, and moves
  the delivery to the status it now has: one script, so that a reader never sees it in two status
  indexes, or in none.

  KEYS[1] the delivery's hash (fields of the delivery; `attempt:<n>` = its n-th attempt)
  KEYS[2] the endpoint's index of every delivery: offset -> time of its last change, in ms
  KEYS[3] the endpoint's index of pending deliveries
  KEYS[4] the endpoint's index of succeeded deliveries
  KEYS[5] the endpoint's index of failed deliveries

  ARGV[1]  now, in ms (the indexes' score)
  ARGV[2]  now, RFC 3339 (lastAttemptAt)
  ARGV[3]  retention, in seconds (every key's TTL)
  ARGV[4]  the status now: pending, succeeded or failed
  ARGV[5]  the attempt, as encodeAttempt writes it (delivery-log.ts), or '' for a delivery that failed without an attempt
  ARGV[6]  the last HTTP status, or '' for none
  ARGV[7]  the last error (one line), or '' for none
  ARGV[8]  when the next attempt is due (RFC 3339), or '' for none
  ARGV[9]  how many attempts the hash keeps (the oldest are dropped)
  ARGV[10] the delivery's id (webhook-id), ARGV[11] its endpoint, ARGV[12] its offset

  Returns the delivery's number of attempts, or -1 when the log does not have the delivery.
]]
local record = KEYS[1]
-- Not in the log (queued before the log existed, dropped by its cap, or expired): left out, so that
-- the cap holds.
if redis.call('EXISTS', record) == 0 then return -1 end
local attempts = tonumber(redis.call('HGET', record, 'attempts') or '0')
if ARGV[5] ~= '' then
  attempts = redis.call('HINCRBY', record, 'attempts', 1)
  redis.call('HSET', record, 'attempt:' .. attempts, ARGV[5], 'lastAttemptAt', ARGV[2])
  local keep = tonumber(ARGV[9])
  if attempts > keep then redis.call('HDEL', record, 'attempt:' .. (attempts - keep)) end
end
redis.call('HSET', record, 'status', ARGV[4])
local optional = { lastStatus = ARGV[6], lastError = ARGV[7], nextAttemptAt = ARGV[8] }
for field, value in pairs(optional) do
  if value == '' then redis.call('HDEL', record, field) else redis.call('HSET', record, field, value) end
end
local target = ({ pending = 3, succeeded = 4, failed = 5 })[ARGV[4]]
for i = 3, 5 do
  if i ~= target then redis.call('ZREM', KEYS[i], ARGV[12]) end
end
redis.call('ZADD', KEYS[target], ARGV[1], ARGV[12])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[12])
for i = 1, 5 do redis.call('EXPIRE', KEYS[i], ARGV[3]) end
return attempts
