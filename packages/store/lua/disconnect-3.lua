--[[
  disconnect: removes one connection; when it was the session's last, the grace period starts.

  KEYS[1] session hash   KEYS[2] grace marker   KEYS[3] due zset
  ARGV[1] token   ARGV[2] socket id   ARGV[3] grace ms

  Result: 1 grace started, 0 other connections remain, -1 unknown connection or session (nothing changed)
  Side effects: the session's deadline in the due index, and the marker key whose expiry wakes sweepers.
]]
--- @include "now"

local session, marker, due = KEYS[1], KEYS[2], KEYS[3]
local token, socketId, graceMs = ARGV[1], ARGV[2], tonumber(ARGV[3])
if redis.call('HDEL', session, 'c:' .. socketId) == 0 then
  return -1
end
if redis.call('HINCRBY', session, 'n', -1) > 0 then
  return 0
end
local deadline = nowMs() + graceMs
redis.call('HSET', session, 'n', 0, 'g', deadline, 'lc', socketId)
redis.call('ZADD', due, deadline, token)
redis.call('SET', marker, '', 'PX', graceMs)
return 1
