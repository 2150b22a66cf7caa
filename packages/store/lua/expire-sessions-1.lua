--[[
  expire-sessions: ends the sessions of one bucket whose grace has run out. Whichever node runs it, the atomicity
  of this script is what makes each session end exactly once; a replay finds nothing more to end.

  KEYS[1] due zset <tag>:due
  ARGV[1] bucket tag   ARGV[2] most sessions to end in this call   ARGV[3] status retention ms   ARGV[4] slot ms

  Result: flat quintuples token, sid, lastSocketId, outbox entry id, grace deadline of the sessions ended now
  Side effects: one `session.ended` event per ended session in the outbox; stale due entries are dropped or moved
  to the session's real deadline.
]]
--- @include "now"
--- @include "route"
--- @include "pending"
--- @include "status"
--- @include "inbox"
--- @include "end-session"

local due, tag = KEYS[1], ARGV[1]
local limit = tonumber(ARGV[2])
local r = { retentionMs = tonumber(ARGV[3]), slotMs = tonumber(ARGV[4]), stats = tag .. ':stats' }
if not (limit and r.retentionMs and r.slotMs) then
  return redis.error_reply('ERR expire-sessions: bad arguments')
end
local now = nowMs()
local ended = {}
for _, token in ipairs(redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, limit)) do
  local k = sessionKeys(tag, token)
  local n, g = unpack(redis.call('HMGET', k.session, 'n', 'g'))
  if not n or tonumber(n) > 0 or not g then
    redis.call('ZREM', due, token)
  elseif tonumber(g) > now then
    redis.call('ZADD', due, g, token)
  else
    local sid, entry, lastId = endSession(k, token, 'grace', now, r)
    ended[#ended + 1] = token
    ended[#ended + 1] = sid
    ended[#ended + 1] = lastId
    ended[#ended + 1] = entry
    ended[#ended + 1] = g
  end
end
return ended
