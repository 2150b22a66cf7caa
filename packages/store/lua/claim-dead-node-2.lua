--[[
  claim-dead-node: hands one dead node instance to the calling reaper, with a lease. A reaper that dies
  mid-way loses its lease and another takes the node over; reaping is idempotent.

  KEYS[1] live zset   KEYS[2] reaping zset
  ARGV[1] lease ms

  Result: the claimed instance, or false when no node is dead
]]
--- @include "now"

local now = nowMs()
local lease = now + tonumber(ARGV[1])
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1)[1]
if dead then
  redis.call('ZREM', KEYS[1], dead)
else
  dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1)[1]
end
if not dead then
  return false
end
redis.call('ZADD', KEYS[2], lease, dead)
return dead
