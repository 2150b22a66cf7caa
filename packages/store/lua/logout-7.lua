--[[
  logout: ends a session now, whatever its connections.

  KEYS[1] session hash   KEYS[2] inbox list   KEYS[3] grace marker
  KEYS[4] due zset       KEYS[5] all zset     KEYS[6] outbox stream   KEYS[7] bucket stats hash
  ARGV[1] token   ARGV[2] message key prefix   ARGV[3] status retention ms

  Result: { 1, sid, lastSocketId, outbox entry id } when the session was ended, { 0 } when there was none
  Side effects: one `session.ended` event (reason logout) in the outbox.
]]
--- @include "now"
--- @include "end-session"

local k = { session = KEYS[1], inbox = KEYS[2], marker = KEYS[3], due = KEYS[4], all = KEYS[5], outbox = KEYS[6],
            stats = KEYS[7], msgPrefix = ARGV[2] }
if redis.call('EXISTS', k.session) == 0 then
  return { 0 }
end
local lastId = redis.call('HGET', k.session, 'lc') or redis.call('HGET', k.session, 'fc') or ''
redis.call('HSET', k.session, 'lc', lastId)
local sid, entry = endSession(k, ARGV[1], 'logout', nowMs(), tonumber(ARGV[3]))
return { 1, sid, lastId, entry }
