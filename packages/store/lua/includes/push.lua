-- Storing messages for live sessions: what push-1.lua and push-group-1.lua share, so that every message, to one
-- session or to a group's members, is stored by the same code. A call first runs pushInit on its six settings, then
-- pushBucket per bucket over an argument list A (ARGV itself for push-1) laid out per message as: token, id, ttl ms,
-- 1 if the id may already be settled, the message's tail "<#id>|<id><data>" (the stored value is "<ts>|<exp>|" ..
-- tail). Needs the includes now, route, pending, status and inbox.
local r = {}
local cap, outboxMax, maxRange, scanMax, now, nowText
local expiries = {}
local fmt, match = string.format, string.match

-- The call's settings, from a[at .. at + 5]: status retention ms, status slot ms, most pending messages per session,
-- most outbox entries of a bucket, widest seq span of an inbox, most fields a recount looks at. @returns false
-- when one is not a number
local function pushInit(a, at)
  r.retentionMs, r.slotMs = tonumber(a[at]), tonumber(a[at + 1])
  cap, outboxMax, maxRange, scanMax = tonumber(a[at + 2]), tonumber(a[at + 3]), tonumber(a[at + 4]), tonumber(a[at + 5])
  now = nowMs()
  nowText = fmt('%d', now)
  return (r.retentionMs and r.slotMs and cap and outboxMax and maxRange and scanMax) and true or false
end

-- "<ts>|<exp>|" of a message with this ttl (one conversion per distinct ttl of the call).
local function headOf(ttl)
  local head = expiries[ttl]
  if not head then
    head = nowText .. '|' .. fmt('%d', now + tonumber(ttl)) .. '|'
    expiries[ttl] = head
  end
  return head
end

-- Makes the session's count exact (at most once a second), dropping expired messages.
local function recount(tag, token, rt)
  if now - rt.rc < 1000 then
    return
  end
  r.stats = tag .. ':stats'
  local live, nextSeq, first = inboxRead(tag, token, { from = rt.lo, to = rt.seq, limit = math.huge, scanMax = scanMax,
                                                        countOnly = true }, now, r)
  rt.count, rt.lo, rt.rc = #live, first or nextSeq, now
end

-- Moves the pending messages of the oldest half of a too-wide inbox to its end (they keep their ids).
local function compact(tag, token, rt, q, pid)
  local cut = rt.seq - math.floor(maxRange / 2)
  r.stats = tag .. ':stats'
  local live = inboxRead(tag, token, { from = rt.lo, to = cut, limit = math.huge, scanMax = maxRange }, now, r)
  local old = {}
  for _, m in ipairs(live) do
    old[#old + 1] = pqField(m[1], token)
    rt.seq = rt.seq + 1
    q[#q + 1] = pqField(rt.seq, token)
    q[#q + 1] = pqPack(m[2], m[5], m[3], m[4])
    pid[#pid + 1] = m[3]
    pid[#pid + 1] = rt.seq .. '|' .. token
  end
  if #old > 0 then
    redis.call('HDEL', tag .. ':pq', unpack(old))
  end
  rt.lo = cut + 1
end

-- The route entries of a bucket batch's sessions, and the pending / settled records of its ids.
local function readBucket(tag, n, base, A)
  local tokens, ids, checked, rts = {}, {}, {}, {}
  for j = 0, n - 1 do
    local at = base + j * 5
    local token = A[at]
    if rts[token] == nil then
      rts[token] = false
      tokens[#tokens + 1] = token
    end
    ids[j + 1] = A[at + 1]
    if A[at + 3] == '1' then
      checked[#checked + 1] = A[at + 1]
    end
  end
  local values = redis.call('HMGET', tag .. ':rt', unpack(tokens))
  for t = 1, #tokens do
    if values[t] then
      rts[tokens[t]] = rtParse(values[t])
    end
  end
  return rts, redis.call('HMGET', tag .. ':pid', unpack(ids)), stLookup(tag, now, r, checked)
end

local function pushBucket(tag, n, base, out, A)
  local backlog = redis.call('XLEN', tag .. ':outbox') > outboxMax
  local rts, pending, settled = readBucket(tag, n, base, A)
  local q, pid, seen, changed, stored = {}, {}, {}, {}, 0
  for j = 0, n - 1 do
    local at = base + j * 5
    local token, id = A[at], A[at + 1]
    local rt, code, seq = rts[token], 1, 0
    local prior = seen[id] or pending[j + 1]
    if not rt or (rt.g > 0 and rt.g <= now) then
      code = 0
    elseif prior then
      local pseq, ptoken = match(prior, '^(%d+)|(.*)$')
      code, seq = (ptoken == token) and 2 or -2, tonumber(pseq)
    elseif settled[id] then
      code = (match(settled[id], '^%a|%d+|(.*)$') == token) and 3 or -2
    elseif backlog then
      code = -5
    else
      if rt.count >= cap then
        recount(tag, token, rt)
        changed[token] = true
      end
      if rt.count >= cap then
        code = -4
      else
        if rt.seq + 1 - rt.lo > maxRange then
          compact(tag, token, rt, q, pid)
        end
        seq = rt.seq + 1
        rt.seq, rt.count = seq, rt.count + 1
        local field = fmt('%d', seq) .. '|' .. token
        q[#q + 1] = field
        q[#q + 1] = headOf(A[at + 2]) .. A[at + 4]
        pid[#pid + 1] = id
        pid[#pid + 1] = field
        seen[id] = field
        changed[token] = true
        stored = stored + 1
      end
    end
    out[#out + 1] = code
    out[#out + 1] = seq
    out[#out + 1] = rt and rt.holders or ''
  end
  if #q > 0 then
    q[#q + 1], q[#q + 2] = HASHTABLE_FIELD, HASHTABLE_VALUE
    pid[#pid + 1], pid[#pid + 2] = HASHTABLE_FIELD, HASHTABLE_VALUE
    redis.call('HSET', tag .. ':pq', unpack(q))
    redis.call('HSET', tag .. ':pid', unpack(pid))
  end
  local w = {}
  for token in pairs(changed) do
    w[#w + 1] = token
    w[#w + 1] = rtFormat(rts[token])
  end
  if #w > 0 then
    redis.call('HSET', tag .. ':rt', unpack(w))
  end
  if stored > 0 then
    redis.call('HINCRBY', tag .. ':stats', 'pushed', stored)
  end
end

