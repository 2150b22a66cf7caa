--[[
  disconnect: removes one connection; when it was the session's last, the grace period starts.

  KEYS[1] session hash <tag>:s:<token>
  ARGV[1] bucket tag   ARGV[2] token   ARGV[3] socket id   ARGV[4] grace ms
  ARGV[5] '1' when this undoes a registration whose answer was lost (optional)

  Result: 1 grace started, 0 other connections remain, -1 unknown connection or session (nothing changed: a
  replayed call lands here — the connection's field is gone, so the count and the grace are never moved twice).
  An undo answers { code, sid, ev }: when the undone connection started its lifetime, `ev` holds the events that
  connect appended (connect-1.lua), which the node never heard of; else ''.
  Side effects: the route entry and the node index follow; at grace start the deadline in the due index and the
  marker key whose expiry wakes a sweeper early.
]]
--- @include "now"
--- @include "route"

local session, tag, token, socketId = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local graceMs = tonumber(ARGV[4])
if not graceMs then
  return redis.error_reply('ERR disconnect: bad arguments')
end
local undo = ARGV[5] == '1'
local value, first, ev, sid = unpack(redis.call('HMGET', session, 'c:' .. socketId, 'fc', 'ev', 'sid'))
if not value then
  return undo and { -1, '', '' } or -1
end
local instance = string.match(value, '^(.*)|')
redis.call('HDEL', session, 'c:' .. socketId, 'a:' .. socketId)
local n = redis.call('HINCRBY', session, 'n', -1)
local rt = rtParse(redis.call('HGET', tag .. ':rt', token))
local holders, mine = holdersAdd(rt.holders, instance, -1)
rt.holders = holders
if mine == 0 then
  redis.call('SREM', tag .. ':ni:' .. instance, token)
end
local code = 0
if n <= 0 then
  local deadline = nowMs() + graceMs
  redis.call('HSET', session, 'n', 0, 'g', deadline, 'lc', socketId)
  redis.call('ZADD', tag .. ':due', deadline, token)
  redis.call('SET', tag .. ':g:' .. token, '', 'PX', math.max(graceMs, 1))
  rt.g = deadline
  code = 1
end
redis.call('HSET', tag .. ':rt', token, rtFormat(rt))
if undo then
  return { code, sid or '', (first == socketId and ev) or '' }
end
return code
