--- @include "pending"
-- Settled messages, time-partitioned: <tag>:st:<slot> hash, message id -> "<d|x>|<at>|<token>" (delivered or
-- expired at `at`, Redis clock). A slot lasts slotMs (half the status retention); each slot key expires when its
-- last record is `retentionMs` old, so a record stays queryable at least retentionMs: three slots cover it.
local function stSlot(now, slotMs)
  return math.floor(now / slotMs)
end

-- Writes flat id, value pairs into the current slot.
local function stWrite(tag, now, r, pairs)
  if #pairs == 0 then
    return
  end
  local slot = stSlot(now, r.slotMs)
  local key = tag .. ':st:' .. slot
  pairs[#pairs + 1], pairs[#pairs + 2] = HASHTABLE_FIELD, HASHTABLE_VALUE
  redis.call('HSET', key, unpack(pairs))
  redis.call('PEXPIREAT', key, (slot + 1) * r.slotMs + r.retentionMs)
end

-- id -> record of the ids that settled within the retention (the newest record wins).
local function stLookup(tag, now, r, ids)
  local found = {}
  if #ids == 0 then
    return found
  end
  local slot = stSlot(now, r.slotMs)
  for s = slot, slot - 2, -1 do
    local values = redis.call('HMGET', tag .. ':st:' .. s, unpack(ids))
    for i, v in ipairs(values) do
      if v and not found[ids[i]] then
        found[ids[i]] = v
      end
    end
  end
  return found
end
