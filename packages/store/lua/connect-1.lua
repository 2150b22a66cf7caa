--[[
  connect: registers one connection of a session; starts the session when it has none. A handshake costs this one
  round trip: registration, node index, route entry, session event and the first page of pending messages happen
  here, atomically.

  KEYS[1] session hash <tag>:s:<token>
  ARGV[1] bucket tag   ARGV[2] token   ARGV[3] socket id   ARGV[4] node instance   ARGV[5] protocol (1, 2 or 3)
  ARGV[6] id for a new session   ARGV[7] status retention ms   ARGV[8] status slot ms   ARGV[9] page size
  ARGV[10] most pending fields one call looks at

  Result: { code, sid, data or '', seq, next, endedSid, endedSocketId, endedEntry, startedEntry, prevSid,
            then per pending message: seq, id, ts, body (its data, after its trace part if traced:
            includes/pending.lua) }
    code 0 joined the live session (a running grace is cancelled); 1 started a new session; 2 the previous
    lifetime's grace had run out before any sweeper ended it: ended it, started a new one; 3 this socket was
    already registered (a replayed or retried call): nothing changes, the answer is the same.
    seq: the session's last push sequence; the pending messages (oldest first, one page) have seq <= it.
    next: where the rest of the inbox starts (read-pending from there); seq + 1 when the page holds all of it.
  Side effects: `session.started` (for code 2 after `session.ended`) in the outbox; expired messages met are dropped.
]]
--- @include "now"
--- @include "route"
--- @include "pending"
--- @include "status"
--- @include "inbox"
--- @include "end-session"

local tag, token, socketId, instance, protocol, newSid = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local r = { retentionMs = tonumber(ARGV[7]), slotMs = tonumber(ARGV[8]), stats = tag .. ':stats' }
local pageSize, scanMax = tonumber(ARGV[9]), tonumber(ARGV[10])
if not (r.retentionMs and r.slotMs and pageSize and scanMax) or socketId == '' or instance == '' then
  return redis.error_reply('ERR connect: bad arguments')
end
local now = nowMs()
local k = sessionKeys(tag, token)
local field = 'c:' .. socketId
local code, ended, startedEntry, prevSid = 0, { '', '', '' }, '', ''

if redis.call('EXISTS', k.session) == 1 then
  if redis.call('HEXISTS', k.session, field) == 1 then
    code = 3
  else
    local n, g = unpack(redis.call('HMGET', k.session, 'n', 'g'))
    if tonumber(n) == 0 and g and tonumber(g) <= now then
      local sid, entry, lastId = endSession(k, token, 'grace', now, r)
      ended = { sid, lastId, entry }
      code = 2
    end
  end
else
  code = 1
end

if code == 1 or code == 2 then
  local tomb = redis.call('GET', tag .. ':e:' .. token)
  if tomb then
    prevSid = cjson.decode(tomb).sid or ''
  end
  redis.call('HSET', k.session, 'sid', newSid, 't0', now, 'n', 1, 'fc', socketId, field, instance .. '|' .. protocol)
  redis.call('ZADD', k.all, 0, token)
  redis.call('HSET', tag .. ':rt', token, rtFormat({ seq = 0, count = 0, lo = 1, rc = 0, g = 0, holders = instance .. ':1' }),
             HASHTABLE_FIELD, HASHTABLE_VALUE)
  startedEntry = redis.call('XADD', k.outbox, '*', 'e', cjson.encode({
    type = 'session.started', token = token, sid = newSid, id = socketId, status = 1, at = now,
    prev = (prevSid ~= '' and prevSid) or nil,
  }))
elseif code == 0 then
  redis.call('HSET', k.session, field, instance .. '|' .. protocol)
  redis.call('HINCRBY', k.session, 'n', 1)
  if redis.call('HDEL', k.session, 'g') == 1 then
    redis.call('ZREM', k.due, token)
    redis.call('DEL', k.marker)
  end
  local rt = rtParse(redis.call('HGET', tag .. ':rt', token))
  rt.holders = holdersAdd(rt.holders, instance, 1)
  rt.g = 0
  redis.call('HSET', tag .. ':rt', token, rtFormat(rt))
end
if code ~= 3 then
  redis.call('SADD', tag .. ':ni:' .. instance, token)
end

local rt = rtParse(redis.call('HGET', tag .. ':rt', token))
local live, nextSeq, first = inboxRead(tag, token, { from = rt.lo, to = rt.seq, limit = pageSize, scanMax = scanMax }, now, r)
local lo = first or nextSeq
if lo > rt.lo then
  rt.lo = lo
  redis.call('HSET', tag .. ':rt', token, rtFormat(rt))
end
local sid, data = unpack(redis.call('HMGET', k.session, 'sid', 'd'))
local result = { code, sid, data or '', rt.seq, nextSeq, ended[1], ended[2], ended[3],
                 startedEntry, prevSid }
for _, m in ipairs(live) do
  result[#result + 1] = m[1]
  result[#result + 1] = m[3]
  result[#result + 1] = m[2]
  result[#result + 1] = m[4]
end
return result
