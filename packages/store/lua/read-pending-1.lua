--[[
  read-pending: the next page of a session's pending messages, oldest first — for a connection replaying its
  inbox in pages, and for a node filling a gap in the pushes routed to it. Drops the expired ones it meets.

  KEYS[1] route index <tag>:rt
  ARGV[1] bucket tag   ARGV[2] token   ARGV[3] first seq wanted   ARGV[4] page size   ARGV[5] most fields to look at
  ARGV[6] status retention ms   ARGV[7] slot ms

  Result: { seq, next, then per message: seq, id, ts, body (includes/pending.lua) } (seq: the session's last
          push sequence; next: where the next page starts, seq + 1 when none is left — a page may hold fewer
          messages than asked, or none, when it met many settled ones); { -1 } when the session has ended
]]
--- @include "now"
--- @include "route"
--- @include "pending"
--- @include "status"
--- @include "inbox"

local tag, token = ARGV[1], ARGV[2]
local from, limit, scanMax = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local r = { retentionMs = tonumber(ARGV[6]), slotMs = tonumber(ARGV[7]), stats = tag .. ':stats' }
if not (from and limit and scanMax and r.retentionMs and r.slotMs) then
  return redis.error_reply('ERR read-pending: bad arguments')
end
local v = redis.call('HGET', KEYS[1], token)
if not v then
  return { -1 }
end
local rt = rtParse(v)
local live, nextSeq = inboxRead(tag, token, { from = math.max(from, rt.lo), to = rt.seq, limit = limit,
                                               scanMax = scanMax }, nowMs(), r)
local result = { rt.seq, nextSeq }
for _, m in ipairs(live) do
  result[#result + 1] = m[1]
  result[#result + 1] = m[3]
  result[#result + 1] = m[2]
  result[#result + 1] = m[4]
end
return result
