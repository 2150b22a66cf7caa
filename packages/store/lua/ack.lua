--[[
  ack: a connection acknowledges a message by id. Only the first acknowledgement yields a receipt.

  KEYS[1] message hash   KEYS[2] inbox list   KEYS[3] outbox stream   KEYS[4] bucket stats hash
  ARGV[1] message id   ARGV[2] token of the acknowledging connection   ARGV[3] node id   ARGV[4] socket id
  ARGV[5] status retention ms

  Result: { 1, deliveredAt, outbox entry id, data, pushedAt } settled now; { 0, deliveredAt } already delivered (a duplicate ack);
          { -1 } unknown message; { -2 } another token's message; { -3 } expired
  Side effects: one `receipt` entry in the outbox (code 1 only).
]]
--- @include "now"
--- @include "settle"

local mkey, inbox, outbox = KEYS[1], KEYS[2], KEYS[3]
local id, token = ARGV[1], ARGV[2]
local owner, st, exp, at = unpack(redis.call('HMGET', mkey, 't', 'st', 'exp', 'at'))
if not owner then
  return { -1 }
end
if owner ~= token then
  return { -2 }
end
if st == 'd' then
  return { 0, tonumber(at) }
end
local now = nowMs()
if st ~= 'p' or tonumber(exp) <= now then
  return { -3 }
end
local at, entry, data, ts = settle(mkey, inbox, outbox, id,
  { now = now, nodeId = ARGV[3], socketId = ARGV[4], retentionMs = tonumber(ARGV[5]), stats = KEYS[4] })
return { 1, at, entry, data, ts }
