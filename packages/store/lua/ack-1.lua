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
--- @include "status"

local r = { retentionMs = tonumber(ARGV[1]), slotMs = tonumber(ARGV[2]) }
if not (r.retentionMs and r.slotMs) then
  return redis.error_reply('ERR ack: bad arguments')
end
local now = nowMs()
local receipts, out = {}, { now, '' }
local find, sub = string.find, string.sub

-- What a settled status record says of an id that was not pending: code and time, for `token`.
local function settledCode(record, token)
  if not record then
    return -1, 0
  end
  local state, at, owner = string.match(record, '^(%a)|(%d+)|(.*)$')
  if owner ~= token then
    return -2, 0
  end
  return (state == 'd') and 0 or -3, tonumber(at)
end

-- Acknowledgements whose field did not hold their id (a replay, another connection, a message moved to the end
-- of its inbox): looked up by id among the pending ones, then among the settled ones.
local function resolveMisses(tag, base, misses, codes, ats, settle)
  local ids = {}
  for m, j in ipairs(misses) do
    ids[m] = ARGV[base + (j - 1) * 4 + 2]
  end
  local moved = redis.call('HMGET', tag .. ':pid', unpack(ids))
  local settled = stLookup(tag, now, r, ids)
  for m, j in ipairs(misses) do
    local at = base + (j - 1) * 4
    local token = ARGV[at]
    local mseq, mtoken = string.match(moved[m] or '', '^(%d+)|(.*)$')
    local v = mseq and mtoken == token and redis.call('HGET', tag .. ':pq', mseq .. '|' .. token)
    if v then
      settle(j, mseq .. '|' .. token, v)
    else
      codes[j], ats[j] = settledCode(settled[ids[m]], token)
    end
  end
end

local function ackGroup(tag, n, base)
  local fields = {}
  for j = 1, n do
    local at = base + (j - 1) * 4
    fields[j] = ARGV[at + 1] .. '|' .. ARGV[at]
  end
  local values = redis.call('HMGET', tag .. ':pq', unpack(fields))
  local del, ids, st, hit, misses, codes, ats = {}, {}, {}, {}, {}, {}, {}
  local delivered, expired = 0, 0
  -- v: "<ts>|<exp>|<#id>|<id><data>" (lua/includes/pending.lua), read in place
  local function settle(j, field, v)
    local at = base + (j - 1) * 4
    local id, token = ARGV[at + 2], ARGV[at]
    local p1 = find(v, '|', 1, true)
    local p2 = find(v, '|', p1 + 1, true)
    local p3 = find(v, '|', p2 + 1, true)
    local idEnd = p3 + tonumber(sub(v, p2 + 1, p3 - 1))
    if hit[id] then
      codes[j], ats[j] = 0, now
      return
    end
    hit[id] = true
    del[#del + 1] = field
    ids[#ids + 1] = id
    st[#st + 1] = id
    if tonumber(sub(v, p1 + 1, p2 - 1)) <= now then
      st[#st + 1] = 'x|' .. now .. '|' .. token
      expired = expired + 1
      codes[j], ats[j] = -3, now
    else
      st[#st + 1] = 'd|' .. now .. '|' .. token
      delivered = delivered + 1
      receipts[#receipts + 1] = ARGV[at + 3] .. ',"data":' .. sub(v, idEnd + 1) .. ',"deliveredAt":' .. now .. '}'
      codes[j], ats[j] = 1, now
    end
  end
  for j = 1, n do
    local v = values[j]
    local id = ARGV[base + (j - 1) * 4 + 2]
    local p3 = v and find(v, '|', find(v, '|', find(v, '|', 1, true) + 1, true) + 1, true)
    if v and sub(v, p3 + 1, p3 + #id) == id then
      settle(j, fields[j], v)
    elseif hit[id] then
      codes[j], ats[j] = 0, now
    else
      misses[#misses + 1] = j
    end
  end
  if #misses > 0 then
    resolveMisses(tag, base, misses, codes, ats, settle)
  end
  for j = 1, n do
    out[#out + 1] = codes[j]
    out[#out + 1] = ats[j]
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

local first, i = ARGV[3], 3
while i <= #ARGV do
  local tag, n = ARGV[i], tonumber(ARGV[i + 1])
  if not n or tag == '' then
    return redis.error_reply('ERR ack: bad group')
  end
  ackGroup(tag, n, i + 2)
  i = i + 2 + n * 4
end
if #receipts > 0 then
  out[2] = redis.call('XADD', first .. ':outbox', '*', 'r', '[' .. table.concat(receipts, ',') .. ']')
end
return out
