--[[
  Deletes a webhook endpoint, and takes the tenant out of the dispatcher's set when it was the
  tenant's last one, in one step: a create in between cannot be undone by the removal.

  KEYS[1] the tenant's webhooks hash
  KEYS[2] the set of tenants with webhooks
  ARGV[1] endpoint id
  ARGV[2] tenant id

  Returns 1 when the endpoint existed, else 0.
]]
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[2], ARGV[2])
end
return removed
