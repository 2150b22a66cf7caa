--[[
  ack-by-data: a legacy client's receipt names the message by its data, as io-session-handler clients do.
  It settles the session's oldest pending message whose data equals the given data.

  KEYS[1] inbox list   KEYS[2] outbox stream   KEYS[3] bucket stats hash
  ARGV[1] data (canonical JSON text)   ARGV[2] node id   ARGV[3] socket id   ARGV[4] status retention ms
  ARGV[5] message key prefix   ARGV[6] how many pending messages to look at, at most

  Result: { 1, id, deliveredAt, outbox entry id, pushedAt } settled; { -1 } no pending message with that data
  Side effects: one `receipt` entry in the outbox.
]]
--- @include "now"
--- @include "settle"

local inbox, outbox = KEYS[1], KEYS[2]
local data, prefix = ARGV[1], ARGV[5]
local now = nowMs()
for _, id in ipairs(redis.call('LRANGE', inbox, 0, tonumber(ARGV[6]) - 1)) do
  local mkey = prefix .. id
  local st, d, exp = unpack(redis.call('HMGET', mkey, 'st', 'd', 'exp'))
  if st == 'p' and d == data and tonumber(exp) > now then
    local at, entry, _, ts = settle(mkey, inbox, outbox, id,
      { now = now, nodeId = ARGV[2], socketId = ARGV[3], retentionMs = tonumber(ARGV[4]), stats = KEYS[3] })
    return { 1, id, at, entry, ts }
  end
end
return { -1 }
