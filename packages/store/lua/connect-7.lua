--[[
  connect: registers one connection of a session; starts the session when it has none.

  KEYS[1] session hash   KEYS[2] inbox list   KEYS[3] grace marker
  KEYS[4] due zset       KEYS[5] all zset     KEYS[6] outbox stream   KEYS[7] bucket stats hash
  ARGV[1] token   ARGV[2] socket id   ARGV[3] connection value "<instance>|<protocol>"
  ARGV[4] id for a new session   ARGV[5] message key prefix   ARGV[6] status retention ms

  Result: { code, sid, endedSid or '', endedSocketId or '', data or '', startedEntry or '', endedEntry or '',
            pendingCount, id1, data1, ts1, id2, … }  (entries: ids of the outbox entries this call appended)
    code 0: joined the live session (a running grace is cancelled)
    code 1: started a new session
    code 2: the previous lifetime's grace had run out before any sweeper ended it: ended it, started a new one
    code 3: this socket was already registered (a retried call): nothing changed
  The pending messages follow, oldest first; expired ones met on the way are marked and dropped.
  Side effects: `session.started` (and for code 2 first `session.ended`) appended to the outbox.
]]
--- @include "now"
--- @include "end-session"
--- @include "expire-message"

local k = { session = KEYS[1], inbox = KEYS[2], marker = KEYS[3], due = KEYS[4], all = KEYS[5], outbox = KEYS[6],
            stats = KEYS[7], msgPrefix = ARGV[5] }
local token, socketId, value, newSid = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local retentionMs = tonumber(ARGV[6])
local now = nowMs()
local field = 'c:' .. socketId

local code, endedSid, endedId, startedEntry, endedEntry = 0, '', '', '', ''
if redis.call('EXISTS', k.session) == 1 then
  if redis.call('HEXISTS', k.session, field) == 1 then
    return { 3, redis.call('HGET', k.session, 'sid'), '', '', '', '', '', 0 }
  end
  local n, g = unpack(redis.call('HMGET', k.session, 'n', 'g'))
  if tonumber(n) == 0 and g and tonumber(g) <= now then
    endedId = redis.call('HGET', k.session, 'lc') or ''
    endedSid, endedEntry = endSession(k, token, 'grace', now, retentionMs)
    code = 2
  end
else
  code = 1
end

if code ~= 0 then
  redis.call('HSET', k.session, 'sid', newSid, 't0', now, 'n', 1, 'fc', socketId, field, value)
  redis.call('ZADD', k.all, 0, token)
  startedEntry = redis.call('XADD', k.outbox, '*', 'e', cjson.encode({
    type = 'session.started', token = token, sid = newSid, id = socketId, status = 1, at = now,
  }))
else
  redis.call('HSET', k.session, field, value)
  redis.call('HINCRBY', k.session, 'n', 1)
  if redis.call('HDEL', k.session, 'g') == 1 then
    redis.call('ZREM', k.due, token)
    redis.call('DEL', k.marker)
  end
end

local result = { code, redis.call('HGET', k.session, 'sid'), endedSid, endedId,
                 redis.call('HGET', k.session, 'd') or '', startedEntry, endedEntry, 0 }
local count = 0
for _, id in ipairs(redis.call('LRANGE', k.inbox, 0, -1)) do
  local mkey = k.msgPrefix .. id
  local st, d, ts, exp = unpack(redis.call('HMGET', mkey, 'st', 'd', 'ts', 'exp'))
  if st == 'p' and tonumber(exp) > now then
    result[#result + 1] = id
    result[#result + 1] = d
    result[#result + 1] = ts
    count = count + 1
  else
    if st == 'p' then
      expireMessage(mkey, k.stats, retentionMs)
    end
    redis.call('LREM', k.inbox, 1, id)
  end
end
result[8] = count
return result
