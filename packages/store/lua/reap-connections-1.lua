--[[
  reap-connections: removes every connection a dead node instance held in one session; when none is left, the
  grace period starts, exactly as if the clients had disconnected. Idempotent: a second run finds nothing.

  KEYS[1] session hash <tag>:s:<token>
  ARGV[1] bucket tag   ARGV[2] token   ARGV[3] dead node instance   ARGV[4] grace ms

  Result: the number of connections removed (0 when the session or the instance's connections are gone)
]]
--- @include "now"
--- @include "route"

local session, tag, token, instance = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local graceMs = tonumber(ARGV[4])
if not graceMs then
  return redis.error_reply('ERR reap-connections: bad arguments')
end
redis.call('SREM', tag .. ':ni:' .. instance, token)
local owned = instance .. '|'
local fields = redis.call('HGETALL', session)
local removed, lastId = 0, nil
for i = 1, #fields, 2 do
  local f, v = fields[i], fields[i + 1]
  if string.sub(f, 1, 2) == 'c:' and string.sub(v, 1, #owned) == owned then
    lastId = string.sub(f, 3)
    redis.call('HDEL', session, f, 'a:' .. lastId)
    removed = removed + 1
  end
end
if removed == 0 then
  return 0
end
local rt = rtParse(redis.call('HGET', tag .. ':rt', token))
rt.holders = holdersAdd(rt.holders, instance, -removed)
if redis.call('HINCRBY', session, 'n', -removed) <= 0 then
  local deadline = nowMs() + graceMs
  redis.call('HSET', session, 'n', 0, 'g', deadline, 'lc', lastId)
  redis.call('ZADD', tag .. ':due', deadline, token)
  redis.call('SET', tag .. ':g:' .. token, '', 'PX', math.max(graceMs, 1))
  rt.g = deadline
end
redis.call('HSET', tag .. ':rt', token, rtFormat(rt))
return removed
