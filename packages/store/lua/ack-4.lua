--[[
  ack: a connection acknowledges a message by id. Only the first acknowledgement yields a receipt.

  KEYS[1] message hash   KEYS[2] inbox list   KEYS[3] outbox stream   KEYS[4] bucket stats hash
  ARGV[1] message id   ARGV[2] token of the acknowledging connection   ARGV[3] node id   ARGV[4] socket id
  ARGV[5] status retention ms

  Result: { 1, deliveredAt, outbox entry id, data, pushedAt } settled now;
          { 0, deliveredAt } already delivered (a duplicate ack);
          { -1 } unknown message; { -2 } another token's message; { -3 } expired
  Side effects: one `receipt` entry in the outbox (code 1 only).
]]
--- @include "now"
--- @include "settle"
--- @include "ack-one"

local code, at, entry, data, ts = ackOne(KEYS[1], KEYS[2], {
  id = ARGV[1], token = ARGV[2], nodeId = ARGV[3], socketId = ARGV[4], retentionMs = tonumber(ARGV[5]),
  outbox = KEYS[3], stats = KEYS[4], now = nowMs(),
})
return { code, at or 0, entry or '', data or '', ts or 0 }
