--[[
  Trims one endpoint's delivery log: the deliveries unchanged for longer than the retention leave
  its indexes (their hashes expire by their own TTL), then, past the cap of deliveries kept per
  endpoint, the oldest go, hashes and all. At most ARGV[4] deliveries are dropped per call, so that
  a lowered cap is reached over a few writes rather than in one long call.

  KEYS[1] the endpoint's index of every delivery: offset -> time of its last change, in ms
  KEYS[2] pending, KEYS[3] succeeded, KEYS[4] failed: the indexes by status

  ARGV[1] the oldest time kept, in ms
  ARGV[2] the most deliveries kept
  ARGV[3] the prefix of the endpoint's delivery hashes (the offset follows it): the tenant's slot
  ARGV[4] the most deliveries dropped by the cap in this call

  Returns how many deliveries the cap dropped.
]]
for i = 1, 4 do redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', '(' .. ARGV[1]) end
local excess = math.min(redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[2]), tonumber(ARGV[4]))
if excess <= 0 then return 0 end
local oldest = redis.call('ZRANGE', KEYS[1], 0, excess - 1)
for _, offset in ipairs(oldest) do
  redis.call('DEL', ARGV[3] .. offset)
  for i = 2, 4 do redis.call('ZREM', KEYS[i], offset) end
end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, excess - 1)
return excess
