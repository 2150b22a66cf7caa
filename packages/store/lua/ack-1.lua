--[[
  ack: settles acknowledged messages — the first acknowledgement of a message settles it and its one receipt goes
  to the outbox in the same step; later ones (another connection, a replayed call) are duplicates. Many
  acknowledgements, of one bucket (Redis Cluster) or of several (single Redis), in one call.

  KEYS[1] route index of the first group <tag>:rt (the call is routed by it)
  ARGV[1] status retention ms   ARGV[2] status slot ms
  ARGV[3 …] groups: bucket tag, count, then per acknowledgement: token, seq, "<#id>|<id>" (the message id as the
            stored value holds it, #id in bytes), receipt head (the JSON text of the receipt up to its data:
            `{"id":…,"token":…,"nodeId":…,"socketId":…`)

  Result: { now, outbox entry id ('' when nothing settled), then per acknowledgement: code, at }
    code 1 settled now (at = deliveredAt)   0 already delivered (at = when)   -1 unknown message
         -2 another token's message   -3 expired (or its session ended)
  Side effects: the message leaves <tag>:pq and <tag>:pid, gets a delivered status record, the counters move; one
  outbox entry holds this call's receipts: field `a` the deliveredAt, then each receipt's head and data.
]]
--- @include "now"
--- @include "status"

local r = { retentionMs = tonumber(ARGV[1]), slotMs = tonumber(ARGV[2]) }
if not (r.retentionMs and r.slotMs) then
  return redis.error_reply('ERR ack: bad arguments')
end
local now = nowMs()
local nowText = string.format('%d', now)
-- The receipts' outbox entry: 'a' (deliveredAt), then per receipt its head and its data (JSON texts), as they are:
-- joining them into one text here would cost more than all the rest (Lua copies every piece at each join).
local receipts, out = { 'a', nowText }, { now, '' }
local DELIVERED, EXPIRED = 'd|' .. nowText .. '|', 'x|' .. nowText .. '|'
local find, sub, byte = string.find, string.sub, string.byte
-- A traced message's body starts with its trace part, "~<traceparent>" (includes/pending.lua): the receipt skips it.
local TRACE_PART = 56

-- The message id of an acknowledgement's "<#id>|<id>".
local function idOf(tagged)
  return sub(tagged, find(tagged, '|', 1, true) + 1)
end

-- Whether an expiry "<exp>" (ms, text) has passed: compared as text when as long as now's (every date until 2286).
local function passed(exp)
  if #exp == #nowText then
    return exp <= nowText
  end
  return tonumber(exp) <= now
end

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
    ids[m] = idOf(ARGV[base + (j - 1) * 4 + 2])
  end
  local moved = redis.call('HMGET', tag .. ':pid', unpack(ids))
  local settled = stLookup(tag, now, r, ids)
  for m, j in ipairs(misses) do
    local at = base + (j - 1) * 4
    local token = ARGV[at]
    local mseq, mtoken = string.match(moved[m] or '', '^(%d+)|(.*)$')
    local v = mseq and mtoken == token and redis.call('HGET', tag .. ':pq', mseq .. '|' .. token)
    if v then
      local p1 = find(v, '|', 1, true)
      settle(j, mseq .. '|' .. token, v, p1, find(v, '|', p1 + 1, true))
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
  -- v: "<ts>|<exp>|<#id>|<id><body>" (lua/includes/pending.lua), read in place
  local function settle(j, field, v, p1, p2)
    local at = base + (j - 1) * 4
    local tagged, token = ARGV[at + 2], ARGV[at]
    local id = idOf(tagged)
    if hit[id] then
      codes[j], ats[j] = 0, now
      return
    end
    hit[id] = true
    del[#del + 1] = field
    ids[#ids + 1] = id
    st[#st + 1] = id
    if passed(sub(v, p1 + 1, p2 - 1)) then
      st[#st + 1] = EXPIRED .. token
      expired = expired + 1
      codes[j], ats[j] = -3, now
    else
      st[#st + 1] = DELIVERED .. token
      delivered = delivered + 1
      local k, d = #receipts, p2 + 1 + #tagged
      if byte(v, d) == 126 then
        d = d + TRACE_PART
      end
      receipts[k + 1], receipts[k + 2] = ARGV[at + 3], sub(v, d)
      codes[j], ats[j] = 1, now
    end
  end
  for j = 1, n do
    local v = values[j]
    local tagged = ARGV[base + (j - 1) * 4 + 2]
    local p1 = v and find(v, '|', 1, true)
    local p2 = p1 and find(v, '|', p1 + 1, true)
    -- the value holds the acknowledged id when "<#id>|<id>" follows its second '|'
    if p2 and sub(v, p2 + 1, p2 + #tagged) == tagged then
      settle(j, fields[j], v, p1, p2)
    elseif hit[idOf(tagged)] then
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
if #receipts > 2 then
  out[2] = redis.call('XADD', first .. ':outbox', '*', unpack(receipts))
end
return out
