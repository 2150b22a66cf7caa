--[[
  ack-by-data: a legacy client's receipt names its message by the data, as io-session-handler clients do: it
  settles the session's oldest pending message whose data equals the given data. The node first matches receipts
  against what it sent (and acknowledges by id); this script is the fallback, with bounded work: it looks at most
  `scan` pending fields, and a session may run it `rate` times a second (bursts of twice that), however many
  connections it has.

  KEYS[1] session hash <tag>:s:<token>
  ARGV[1] bucket tag   ARGV[2] token   ARGV[3] data (canonical JSON text)   ARGV[4] receipt head without the id (`{"token":…,"nodeId":…,"socketId":…`)
  ARGV[5] most pending fields to look at   ARGV[6] runs per second per session   ARGV[7] status retention ms
  ARGV[8] slot ms

  Result: { 1, seq, id, deliveredAt, outbox entry id } settled; { -1 } no pending message with that data;
          { -5 } the session's budget for receipts by data is spent (try later)
  Side effects: as ack.lua for the settled message; the budget in the session hash (fields rb, rr).
]]
--- @include "now"
--- @include "route"
--- @include "pending"
--- @include "status"

local session, tag, token, data, head = KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local scan, rate = tonumber(ARGV[5]), tonumber(ARGV[6])
local r = { retentionMs = tonumber(ARGV[7]), slotMs = tonumber(ARGV[8]) }
if not (scan and rate and r.retentionMs and r.slotMs) then
  return redis.error_reply('ERR ack-by-data: bad arguments')
end
local rtv = redis.call('HGET', tag .. ':rt', token)
if not rtv then
  return { -1 }
end
local now = nowMs()
local tokens, refilled = unpack(redis.call('HMGET', session, 'rb', 'rr'))
tokens = math.min(2 * rate, tonumber(tokens or 2 * rate) + (now - tonumber(refilled or now)) * rate / 1000)
if tokens < 1 then
  return { -5 }
end
redis.call('HSET', session, 'rb', tokens - 1, 'rr', now)

local rt = rtParse(rtv)
local seq, looked = rt.lo, 0
while seq <= rt.seq and looked < scan do
  local last = math.min(rt.seq, seq + 63)
  local fields = {}
  for s = seq, last do
    fields[#fields + 1] = pqField(s, token)
  end
  for i, v in ipairs(redis.call('HMGET', tag .. ':pq', unpack(fields))) do
    if v then
      local _, exp, id, body = pqUnpack(v)
      local d = pqData(body)
      if d == data and exp > now then
        redis.call('HDEL', tag .. ':pq', fields[i])
        redis.call('HDEL', tag .. ':pid', id)
        stWrite(tag, now, r, { id, 'd|' .. now .. '|' .. token })
        redis.call('HINCRBY', tag .. ':stats', 'delivered', 1)
        local entry = redis.call('XADD', tag .. ':outbox', '*', 'r',
          '[{"id":' .. cjson.encode(id) .. ',' .. string.sub(head, 2) .. ',"data":' .. d .. ',"deliveredAt":' .. now .. '}]')
        return { 1, seq + i - 1, id, now, entry }
      end
    end
  end
  looked = looked + #fields
  seq = last + 1
end
return { -1 }
