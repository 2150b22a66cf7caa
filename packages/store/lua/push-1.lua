--[[
  push: stores messages for live sessions, before anything is sent. Many messages, of one bucket (on a Redis
  Cluster) or of several buckets (on a single Redis), in one call: each bucket's writes are one variadic command
  per structure. Safe to replay: a message id already stored is a duplicate, never a second message.

  KEYS[1] route index of the first group <tag>:rt (the call is routed by it)
  ARGV[1] status retention ms   ARGV[2] status slot ms   ARGV[3] most pending messages per session
  ARGV[4] most outbox entries a bucket may hold before pushes are refused   ARGV[5] widest seq span of an inbox
  ARGV[6] most fields a recount looks at
  ARGV[7 …] groups: bucket tag, message count, then per message: token, id, ttl ms, 1 if the id may already be
            settled (an id from the app or a job: look up settled statuses too; ids the node made cannot be), and
            the message's tail "<#id>|<id><data>" (data: JSON text; the stored value is "<ts>|<exp>|" .. tail)

  Result: { now, then per message: code, seq, holders }
    code 1 stored (seq: its number in the session)   2 duplicate of a pending message (seq: the stored one's)
         3 duplicate of a delivered or expired message   0 no live session   -2 the id is another token's message
         -4 the session's inbox is full   -5 the bucket's outbox is over its bound (the queue side is behind)
    holders: the node instances holding the session's connections ("inst:n,…"), '' when none
  Side effects: the pending message (<tag>:pq, <tag>:pid), the session's route entry, the `pushed` counter; a full
  inbox is recounted (at most once a second) and expired messages met are dropped; an inbox wider than its span
  moves its oldest pending messages to the end.

  Cost: this runs for every message. Per message it does no table allocation, no number-to-text conversion but the
  seq of its field (one per distinct ttl for the expiry), and one element of each variadic command.
]]
--- @include "now"
--- @include "route"
--- @include "pending"
--- @include "status"
--- @include "inbox"
--- @include "push"

if not pushInit(ARGV, 1) then
  return redis.error_reply('ERR push: bad arguments')
end
-- The layout of the groups is checked before the first write: a bad call changes nothing. (Each message's fields
-- come from the store, which validated them.)
local i = 7
while i <= #ARGV do
  local n = tonumber(ARGV[i + 1])
  if not n or ARGV[i] == '' or i + 1 + n * 5 > #ARGV then
    return redis.error_reply('ERR push: bad group at argument ' .. i)
  end
  i = i + 2 + n * 5
end

local out = { now }
i = 7
while i <= #ARGV do
  local n = tonumber(ARGV[i + 1])
  pushBucket(ARGV[i], n, i + 2, out, ARGV)
  i = i + 2 + n * 5
end
return out
