--[[
  reap-connections: removes every connection a dead node instance held in one session; when none is left,
  the grace period starts, exactly as if the clients had disconnected.

  KEYS[1] session hash   KEYS[2] grace marker   KEYS[3] due zset
  ARGV[1] token   ARGV[2] dead node instance   ARGV[3] grace ms

  Result: the number of connections removed (0 when the session or the instance's connections are gone)
]]
--- @include "now"

local session, marker, due = KEYS[1], KEYS[2], KEYS[3]
local token, instance, graceMs = ARGV[1], ARGV[2], tonumber(ARGV[3])
local owned = instance .. '|'
local fields = redis.call('HGETALL', session)
local removed, lastId = 0, nil
for i = 1, #fields, 2 do
  local f, v = fields[i], fields[i + 1]
  if string.sub(f, 1, 2) == 'c:' and string.sub(v, 1, #owned) == owned then
    redis.call('HDEL', session, f)
    removed = removed + 1
    lastId = string.sub(f, 3)
  end
end
if removed == 0 then
  return 0
end
if redis.call('HINCRBY', session, 'n', -removed) <= 0 then
  local deadline = nowMs() + graceMs
  redis.call('HSET', session, 'n', 0, 'g', deadline, 'lc', lastId)
  redis.call('ZADD', due, deadline, token)
  redis.call('SET', marker, '', 'PX', graceMs)
end
return removed
