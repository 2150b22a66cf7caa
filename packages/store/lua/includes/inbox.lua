-- A session's inbox: the <tag>:pq fields "<seq>|<token>" from the route's lo to its seq, in order.
-- r: { slotMs, retentionMs, stats } (the bucket's settings and counters key).

-- Forgets pending messages: their fields and ids go, each gets a status record `state` ('x' = expired), counted.
local function inboxDrop(tag, token, now, r, dropped)
  if #dropped.fields == 0 then
    return
  end
  redis.call('HDEL', tag .. ':pq', unpack(dropped.fields))
  redis.call('HDEL', tag .. ':pid', unpack(dropped.ids))
  local pairs = {}
  for _, id in ipairs(dropped.ids) do
    pairs[#pairs + 1] = id
    pairs[#pairs + 1] = 'x|' .. now .. '|' .. token
  end
  stWrite(tag, now, r, pairs)
  redis.call('HINCRBY', r.stats, 'expired', #dropped.ids)
end

-- Reads the live messages with from <= seq <= to, in order, at most `limit` of them and looking at most
-- `scanMax` fields; expired ones met on the way are dropped (and all of them when `all` is set: the session ends).
-- With `countOnly` the messages are only counted (the list holds `true`s).
-- Returns the messages { seq, ts, id, data, exp }, the seq to continue from, and the lowest live seq seen (or nil).
local function inboxRead(tag, token, span, now, r)
  local live, dropped = {}, { fields = {}, ids = {} }
  local seq, first, looked = span.from, nil, 0
  while seq <= span.to and #live < span.limit and looked < span.scanMax do
    local last = math.min(span.to, seq + 99)
    local fields = {}
    for s = seq, last do
      fields[#fields + 1] = s .. '|' .. token
    end
    local values = redis.call('HMGET', tag .. ':pq', unpack(fields))
    local nextSeq = last + 1
    for i, v in ipairs(values) do
      if v then
        local ts, exp, id, data = pqUnpack(v)
        if span.all or exp <= now then
          dropped.fields[#dropped.fields + 1] = fields[i]
          dropped.ids[#dropped.ids + 1] = id
        elseif #live < span.limit then
          live[#live + 1] = span.countOnly or { seq + i - 1, ts, id, data, exp }
          first = first or (seq + i - 1)
        else
          nextSeq = seq + i - 1
          break
        end
      end
    end
    looked = looked + #fields
    seq = nextSeq
  end
  inboxDrop(tag, token, now, r, dropped)
  return live, seq, first
end
