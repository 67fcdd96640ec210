--[[
  One page of an endpoint's delivery index, newest first (score descending; equal scores in
  Redis's order reversed, members bytewise descending), starting after a cursor. One script, so
  that deliveries added meanwhile cannot shift the page between finding the cursor and reading.

  KEYS[1] the index: offset -> time of the delivery's last change, in ms

  ARGV[1] the cursor's score, or '' for the first page
  ARGV[2] the cursor's member (the last delivery of the page before)
  ARGV[3] how many to return

  Returns member, score, member, score...
]]
local key = KEYS[1]
local start = 0
if ARGV[1] ~= '' then
  local score = redis.call('ZSCORE', key, ARGV[2])
  if score and tonumber(score) == tonumber(ARGV[1]) then
    start = redis.call('ZREVRANK', key, ARGV[2]) + 1
  else
    -- The cursor's delivery changed or left since: start after everything newer than its score,
    -- then after its ties that come before it (members bytewise greater, in this order).
    start = redis.call('ZCOUNT', key, '(' .. ARGV[1], '+inf')
    local cursor = ARGV[2]
    local function greater(a)
      for i = 1, math.min(#a, #cursor) do
        local x, y = a:byte(i), cursor:byte(i)
        if x ~= y then return x > y end
      end
      return #a > #cursor
    end
    for _, member in ipairs(redis.call('ZRANGE', key, ARGV[1], ARGV[1], 'BYSCORE')) do
      if greater(member) then start = start + 1 end
    end
  end
end
return redis.call('ZRANGE', key, start, start + tonumber(ARGV[3]) - 1, 'REV', 'WITHSCORES')
