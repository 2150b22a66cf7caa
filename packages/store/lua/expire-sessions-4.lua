--[[
  expire-sessions: ends the sessions of one bucket whose grace has run out. Every node's sweeper calls it;
  the atomicity of this script is what makes each session end exactly once.

  KEYS[1] due zset   KEYS[2] all zset   KEYS[3] outbox stream   KEYS[4] bucket stats hash
  ARGV[1] bucket key tag (session keys are <tag>:s:<token>, …)   ARGV[2] most sessions to end in this call
  ARGV[3] status retention ms

  Result: flat quintuples token, sid, lastSocketId, outbox entry id, grace deadline of the sessions ended now
  Side effects: one `session.ended` event per ended session in the outbox; stale due entries are dropped
  or moved to the session's real deadline.
]]
--- @include "now"
--- @include "end-session"

local tag, limit, retentionMs = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now = nowMs()
local ended = {}
for _, token in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)) do
  local k = { session = tag .. ':s:' .. token, inbox = tag .. ':q:' .. token, marker = tag .. ':g:' .. token,
              due = KEYS[1], all = KEYS[2], outbox = KEYS[3], stats = KEYS[4], msgPrefix = tag .. ':m:' }
  local n, g, lc = unpack(redis.call('HMGET', k.session, 'n', 'g', 'lc'))
  if not n or tonumber(n) > 0 or not g then
    redis.call('ZREM', k.due, token)
  elseif tonumber(g) > now then
    redis.call('ZADD', k.due, g, token)
  else
    local sid, entry = endSession(k, token, 'grace', now, retentionMs)
    ended[#ended + 1] = token
    ended[#ended + 1] = sid
    ended[#ended + 1] = lc or ''
    ended[#ended + 1] = entry
    ended[#ended + 1] = g
  end
end
return ended
