--[[
  ack: settles acknowledged messages — the first acknowledgement of a message settles it and its one receipt goes
  to the outbox in the same step; later ones (another connection, a replayed call) are duplicates. Many
  acknowledgements, of one bucket (Redis Cluster) or of several (single Redis), in one call.

  KEYS[1] route index of the first group <tag>:rt (the call is routed by it)
  ARGV[1] status retention ms   ARGV[2] status slot ms
  ARGV[3 …] groups: bucket tag, count, then per acknowledgement: token, seq, message id, receipt head (the JSON
            text of the receipt up to its data: `{"id":…,"token":…,"nodeId":…,"socketId":…`)

  Result: { now, outbox entry id ('' when nothing settled), then per acknowledgement: code, at }
    code 1 settled now (at = deliveredAt)   0 already delivered (at = when)   -1 unknown message
         -2 another token's message   -3 expired (or its session ended)
  Side effects: the message leaves <tag>:pq and <tag>:pid, gets a delivered status record, the counters move; one
  outbox entry `r` holds the JSON array of this call's receipts.
]]
--- @include "now"
--- @include "pending"
--- @include "status"

local r = { retentionMs = tonumber(ARGV[1]), slotMs = tonumber(ARGV[2]) }
if not (r.retentionMs and r.slotMs) then
  return redis.error_reply('ERR ack: bad arguments')
end
local groups, i = {}, 3
while i <= #ARGV do
  local tag, n = ARGV[i], tonumber(ARGV[i + 1])
  if not n or tag == '' then
    return redis.error_reply('ERR ack: bad group')
  end
  local acks = {}
  for j = 0, n - 1 do
    local at = i + 2 + j * 4
    acks[#acks + 1] = { token = ARGV[at], seq = ARGV[at + 1], id = ARGV[at + 2], head = ARGV[at + 3] }
  end
  groups[#groups + 1] = { tag = tag, acks = acks }
  i = i + 2 + n * 4
end

local now = nowMs()
local receipts, out = {}, { now, '' }

-- The acknowledgements whose field did not hold their id: moved (look it up by id), settled, or unknown.
local function resolveMisses(tag, g, misses, found)
  local ids = {}
  for _, j in ipairs(misses) do
    ids[#ids + 1] = g.acks[j].id
  end
  local moved = redis.call('HMGET', tag .. ':pid', unpack(ids))
  local settled = stLookup(tag, now, r, ids)
  for n, j in ipairs(misses) do
    local a = g.acks[j]
    local mseq, mtoken = string.match(moved[n] or '', '^(%d+)|(.*)$')
    local st = settled[a.id]
    if mseq and mtoken == a.token then
      local v = redis.call('HGET', tag .. ':pq', pqField(mseq, a.token))
      if v then
        found[j] = { field = pqField(mseq, a.token), value = v }
      end
    end
    if not found[j] then
      local state, at, owner = string.match(st or '', '^(%a)|(%d+)|(.*)$')
      if not state then
        found[j] = { code = -1 }
      elseif owner ~= a.token then
        found[j] = { code = -2 }
      else
        found[j] = { code = state == 'd' and 0 or -3, at = tonumber(at) }
      end
    end
  end
end

local function ackGroup(g)
  local tag = g.tag
  local fields = {}
  for _, a in ipairs(g.acks) do
    fields[#fields + 1] = pqField(a.seq, a.token)
  end
  local values = redis.call('HMGET', tag .. ':pq', unpack(fields))
  local found, misses, hit = {}, {}, {}
  for j, a in ipairs(g.acks) do
    local v = values[j]
    if v then
      local _, _, id = pqUnpack(v)
      if id == a.id then
        found[j] = { field = fields[j], value = v }
        hit[id] = true
      end
    end
  end
  for j, a in ipairs(g.acks) do
    if not found[j] then
      if hit[a.id] then
        found[j] = { code = 0, at = now } -- another acknowledgement of this call settles it
      else
        misses[#misses + 1] = j
      end
    end
  end
  if #misses > 0 then
    resolveMisses(tag, g, misses, found)
  end
  local del, ids, st, done, delivered, expired = {}, {}, {}, {}, 0, 0
  for j, a in ipairs(g.acks) do
    local f = found[j]
    if f.value and done[a.id] then
      f = { code = 0, at = now }
    elseif f.value then
      done[a.id] = true
      local _, exp, _, data = pqUnpack(f.value)
      del[#del + 1] = f.field
      ids[#ids + 1] = a.id
      st[#st + 1] = a.id
      if exp <= now then
        st[#st + 1] = 'x|' .. now .. '|' .. a.token
        expired = expired + 1
        f = { code = -3, at = now }
      else
        st[#st + 1] = 'd|' .. now .. '|' .. a.token
        delivered = delivered + 1
        receipts[#receipts + 1] = a.head .. ',"data":' .. data .. ',"deliveredAt":' .. now .. '}'
        f = { code = 1, at = now }
      end
    end
    out[#out + 1] = f.code
    out[#out + 1] = f.at or 0
  end
  if #del > 0 then
    redis.call('HDEL', tag .. ':pq', unpack(del))
    redis.call('HDEL', tag .. ':pid', unpack(ids))
    stWrite(tag, now, r, st)
  end
  if delivered > 0 then
    redis.call('HINCRBY', tag .. ':stats', 'delivered', delivered)
  end
  if expired > 0 then
    redis.call('HINCRBY', tag .. ':stats', 'expired', expired)
  end
end

for _, g in ipairs(groups) do
  ackGroup(g)
end
if #receipts > 0 then
  out[2] = redis.call('XADD', groups[1].tag .. ':outbox', '*', 'r', '[' .. table.concat(receipts, ',') .. ']')
end
return out
