--[[
  push-group: stores one message for each member of a group in one bucket (a page of its members, in token order),
  with the same code as push-1 (lua/includes/push.lua): each member gets its own message, id, seq and receipt.
  Safe to replay: the members' ids are derived from the push's id and their token, so a replayed or retried call
  finds them stored (duplicates), never a second message.

  KEYS[1] route index of the bucket <tag>:rt (the call is routed by it)
  ARGV[1 … 6] as push-1: status retention ms, status slot ms, most pending per session, most outbox entries,
            widest seq span, most fields a recount looks at
  ARGV[7] bucket tag   ARGV[8] group name   ARGV[9] the push's id (base of the members' ids)   ARGV[10] ttl ms
  ARGV[11] the data (JSON text)   ARGV[12] members after this token ('' from the first)   ARGV[13] most members

  Result: { now, last token of this page ('' when the bucket has no more members), then per member: token, id,
            code, seq, holders } (code, seq, holders as push-1)
    a member's id: "<push id>/<the first 16 hex digits of SHA-1(token)>@<group>" (messages/message-ids.ts)
  Side effects: those of push-1 for each member stored.
]]
--- @include "now"
--- @include "route"
--- @include "pending"
--- @include "status"
--- @include "inbox"
--- @include "push"

local tag, group, base, ttl, data, after = ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12]
local limit = tonumber(ARGV[13])
if not pushInit(ARGV, 1) or not limit or limit < 1 or tag == '' or group == '' or base == '' or not tonumber(ttl) then
  return redis.error_reply('ERR push-group: bad arguments')
end
local members = redis.call('ZRANGEBYLEX', tag .. ':gm:' .. group, after == '' and '-' or '(' .. after, '+',
  'LIMIT', 0, limit)
local out = { now, '' }
if #members == 0 then
  return out
end
local A, suffix = {}, '@' .. group
for j, token in ipairs(members) do
  local id = base .. '/' .. string.sub(redis.sha1hex(token), 1, 16) .. suffix
  local at = (j - 1) * 5
  A[at + 1], A[at + 2], A[at + 3], A[at + 4], A[at + 5] = token, id, ttl, '1', #id .. '|' .. id .. data
end
local codes = {}
pushBucket(tag, #members, 1, codes, A)
for j, token in ipairs(members) do
  local c, k = (j - 1) * 3, #out
  out[k + 1], out[k + 2], out[k + 3], out[k + 4], out[k + 5] = token, A[(j - 1) * 5 + 2], codes[c + 1], codes[c + 2],
    codes[c + 3]
end
if #members == limit then
  out[2] = members[#members]
end
return out
