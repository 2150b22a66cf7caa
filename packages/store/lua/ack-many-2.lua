--[[
  ack-many: the acknowledgements by id that reached one node in one event-loop turn, for one bucket, each
  exactly as ack.lua settles it (one round trip per bucket instead of one per acknowledgement).

  KEYS[1] outbox stream   KEYS[2] bucket stats hash
  ARGV[1] bucket key tag   ARGV[2] status retention ms
  ARGV[3 + 4i …] per acknowledgement: message id, token, node id, socket id

  Result: flat 5-tuples code, deliveredAt, outbox entry id, data, pushedAt (codes as ack.lua), in order
]]
--- @include "now"
--- @include "settle"
--- @include "ack-one"

local tag, retention = ARGV[1], tonumber(ARGV[2])
local now = nowMs()
local result = {}
for i = 3, #ARGV, 4 do
  local id, token = ARGV[i], ARGV[i + 1]
  local code, at, entry, data, ts = ackOne(tag .. ':m:' .. id, tag .. ':q:' .. token, {
    id = id, token = token, nodeId = ARGV[i + 2], socketId = ARGV[i + 3], retentionMs = retention,
    outbox = KEYS[1], stats = KEYS[2], now = now,
  })
  result[#result + 1] = code
  result[#result + 1] = at or 0
  result[#result + 1] = entry or ''
  result[#result + 1] = data or ''
  result[#result + 1] = ts or 0
end
return result
