--[[
  Adds a webhook endpoint to its tenant's hash unless the tenant has as many as it may. One script,
  so that the count and the add are one step: two creates at once cannot both pass the cap.

  KEYS[1] the tenant's endpoints hash: endpoint id -> endpoint JSON

  ARGV[1] the most endpoints the tenant may have
  ARGV[2] the new endpoint's id
  ARGV[3] the new endpoint's JSON

  Returns 1 when added, or 0 when the tenant has ARGV[1] endpoints or more (nothing written).
]]
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return 1
