--[[
  logout: ends a session now, whatever its connections. Safe to replay: the call's request id is kept in the
  session's tombstone, so a replay (a reply lost, the command resent) answers what the first run answered.

  KEYS[1] session hash <tag>:s:<token>
  ARGV[1] bucket tag   ARGV[2] token   ARGV[3] request id   ARGV[4] status retention ms   ARGV[5] slot ms

  Result: { 1, sid, lastSocketId, outbox entry id, holders } ended (now, or by the first run of this request);
          holders: the node instances that held its connections ("inst:n,…"), where to route the logout;
          { 0 } there was no session
  Side effects: one `session.ended` event (reason logout) in the outbox.
]]
--- @include "now"
--- @include "route"
--- @include "pending"
--- @include "status"
--- @include "inbox"
--- @include "end-session"

local tag, token, requestId = ARGV[1], ARGV[2], ARGV[3]
local r = { retentionMs = tonumber(ARGV[4]), slotMs = tonumber(ARGV[5]), stats = tag .. ':stats' }
if not (r.retentionMs and r.slotMs) or requestId == '' then
  return redis.error_reply('ERR logout: bad arguments')
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  local tomb = redis.call('GET', tag .. ':e:' .. token)
  if tomb then
    local t = cjson.decode(tomb)
    if t.rq == requestId then
      return { 1, t.sid, t.id, t.entry, t.holders or '' }
    end
  end
  return { 0 }
end
local sid, entry, lastId, holders = endSession(sessionKeys(tag, token), token, 'logout', nowMs(), r, requestId)
return { 1, sid, lastId, entry, holders }
