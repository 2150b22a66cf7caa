--[[
  claim-dead-node: hands one dead node instance to the calling reaper, with a lease. A reaper that dies
  mid-way loses its lease and another takes the node over; reaping is idempotent.

  THE LIVENESS RULE (the one place it is decided; docs/operating.md "Redis outages and failovers" explains it).
  A node is declared dead only on evidence that Redis was reachable while the node stayed silent:
    1. The reaper itself has an unbroken streak of heartbeats (heartbeat-4.lua): every heartbeat of it came at most
       `gap` ms after the previous one (Redis clock), the streak is longer than `ttl`, and its last heartbeat is at
       most `gap` ms old. So Redis answered this reaper throughout the last `ttl` ms.
    2. The dead node's heartbeat deadline (its last heartbeat + its ttl) has passed.
    3. A reaper never claims itself, and a reaper that was itself declared dead claims nothing.
  After an outage of any length every streak starts again when Redis comes back, so no node is claimed before
  every node had a whole `ttl` (with its heartbeat retries capped below it) to beat again. A node that really
  stopped (crashed, stalled, partitioned from Redis) is claimed once `ttl` ms of reachable Redis have passed.

  KEYS[1] live zset   KEYS[2] reaping zset   KEYS[3] streak hash
  ARGV[1] lease ms   ARGV[2] the reaper's instance   ARGV[3] ttl ms   ARGV[4] gap ms

  Result: the claimed instance, or false when no node is dead (or this reaper cannot vouch for it)
]]
--- @include "now"

local lease, self, ttl, gap = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
if not (lease and ttl and gap) then
  return redis.error_reply('ERR claim-dead-node: bad arguments')
end
local now = nowMs()
if not redis.call('ZSCORE', KEYS[1], self) or redis.call('ZSCORE', KEYS[2], self) then
  return false
end
local s, last = string.match(redis.call('HGET', KEYS[3], self) or '', '^(%d+):(%d+)$')
s, last = tonumber(s), tonumber(last)
if not (s and last) or now - last > gap or now - s <= ttl then
  return false
end
local function other(list)
  for _, instance in ipairs(list) do
    if instance ~= self then
      return instance
    end
  end
  return nil
end
local dead = other(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 2))
if dead then
  redis.call('ZREM', KEYS[1], dead)
  redis.call('HDEL', KEYS[3], dead)
else
  dead = other(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 2))
end
if not dead then
  return false
end
redis.call('ZADD', KEYS[2], now + lease, dead)
return dead
