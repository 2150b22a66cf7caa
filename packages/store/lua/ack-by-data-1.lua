--[[
  ack-by-data: a legacy client's receipt names its message by the data, as io-session-handler clients do: it
  settles the session's oldest pending message whose data equals the given data. The node first matches receipts
  against what it sent (and acknowledges by id); this script is the fallback, with bounded work: it looks at most
  `scan` pending fields, and a session may run it `rate` times a second (bursts of twice that), however many
  connections it has.

  Safe to replay: the node numbers its calls per connection (1, 2, …; a replay comes on the same Redis connection,
  in the same order) and the connection's field a:<socketId> keeps the answers of its last few calls. A call whose
  number was answered before answers the same (or 0 when its answer is no longer kept) and changes nothing: a
  replayed receipt never settles a second message with equal data.

  KEYS[1] session hash <tag>:s:<token>
  ARGV[1] bucket tag   ARGV[2] token   ARGV[3] data (canonical JSON text)   ARGV[4] receipt head without the id (`{"token":…,"nodeId":…,"socketId":…`)
  ARGV[5] most pending fields to look at   ARGV[6] runs per second per session   ARGV[7] status retention ms
  ARGV[8] slot ms   ARGV[9] socket id   ARGV[10] the call's number on that connection

  Result: { 1, seq, id, deliveredAt, outbox entry id } settled; { -1 } no pending message with that data (or the
          socket is not a connection of the session); { -5 } the session's budget for receipts by data is spent
          (try later); { 0 } a replay of a call whose answer is no longer kept: it ran, nothing more happens
  Side effects: as ack.lua for the settled message; the budget in the session hash (fields rb, rr); the answer in
  the connection's field a:<socketId> (dropped with the connection).
]]
--- @include "now"
--- @include "route"
--- @include "pending"
--- @include "status"

local session, tag, token, data, head = KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local scan, rate = tonumber(ARGV[5]), tonumber(ARGV[6])
local r = { retentionMs = tonumber(ARGV[7]), slotMs = tonumber(ARGV[8]) }
local socketId, call = ARGV[9], tonumber(ARGV[10])
if not (scan and rate and r.retentionMs and r.slotMs and call) or socketId == '' then
  return redis.error_reply('ERR ack-by-data: bad arguments')
end
local ANSWERS_KEPT = 8
local rtv = redis.call('HGET', tag .. ':rt', token)
local conn, kept = unpack(redis.call('HMGET', session, 'c:' .. socketId, 'a:' .. socketId))
if not rtv or not conn then
  return { -1 }
end
local answers = kept and cjson.decode(kept) or {}
for _, a in ipairs(answers) do
  if a[1] == call then
    return a[2]
  end
end
if #answers > 0 and call <= answers[#answers][1] then
  return { 0 }
end

-- Keeps the answer of this call (the last ANSWERS_KEPT of the connection), then returns it.
local function answer(result)
  answers[#answers + 1] = { call, result }
  if #answers > ANSWERS_KEPT then
    table.remove(answers, 1)
  end
  redis.call('HSET', session, 'a:' .. socketId, cjson.encode(answers))
  return result
end

local now = nowMs()
local tokens, refilled = unpack(redis.call('HMGET', session, 'rb', 'rr'))
tokens = math.min(2 * rate, tonumber(tokens or 2 * rate) + (now - tonumber(refilled or now)) * rate / 1000)
if tokens < 1 then
  return answer({ -5 })
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
        return answer({ 1, seq + i - 1, id, now, entry })
      end
    end
  end
  looked = looked + #fields
  seq = last + 1
end
return answer({ -1 })
