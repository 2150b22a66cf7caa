--[[
  push: stores messages for live sessions, before anything is sent. Many messages, of one bucket (on a Redis
  Cluster) or of several buckets (on a single Redis), in one call: each bucket's writes are one variadic command
  per structure. Safe to replay: a message id already stored is a duplicate, never a second message.

  KEYS[1] route index of the first group <tag>:rt (the call is routed by it)
  ARGV[1] status retention ms   ARGV[2] status slot ms   ARGV[3] most pending messages per session
  ARGV[4] most outbox entries a bucket may hold before pushes are refused   ARGV[5] widest seq span of an inbox
  ARGV[6] most fields a recount looks at
  ARGV[7 …] groups: bucket tag, message count, then per message: token, id, ttl ms, 1 if the id may already be
            settled (an id from the app or a job: look up settled statuses too; ids the node made cannot be), and
            the message's tail "<#id>|<id><data>" (data: JSON text; the stored value is "<ts>|<exp>|" .. tail)

  Result: { now, then per message: code, seq, holders }
    code 1 stored (seq: its number in the session)   2 duplicate of a pending message (seq: the stored one's)
         3 duplicate of a delivered or expired message   0 no live session   -2 the id is another token's message
         -4 the session's inbox is full   -5 the bucket's outbox is over its bound (the queue side is behind)
    holders: the node instances holding the session's connections ("inst:n,…"), '' when none
  Side effects: the pending message (<tag>:pq, <tag>:pid), the session's route entry, the `pushed` counter; a full
  inbox is recounted (at most once a second) and expired messages met are dropped; an inbox wider than its span
  moves its oldest pending messages to the end.

  Cost: this runs for every message. Per message it does no table allocation, no number-to-text conversion but the
  seq of its field (one per distinct ttl for the expiry), and one element of each variadic command.
]]
--- @include "now"
--- @include "route"
--- @include "pending"
--- @include "status"
--- @include "inbox"

local r = { retentionMs = tonumber(ARGV[1]), slotMs = tonumber(ARGV[2]) }
local cap, outboxMax, maxRange, scanMax = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
if not (r.retentionMs and r.slotMs and cap and outboxMax and maxRange and scanMax) then
  return redis.error_reply('ERR push: bad arguments')
end
-- The layout of the groups is checked before the first write: a bad call changes nothing. (Each message's fields
-- come from the store, which validated them.)
local i = 7
while i <= #ARGV do
  local n = tonumber(ARGV[i + 1])
  if not n or ARGV[i] == '' or i + 1 + n * 5 > #ARGV then
    return redis.error_reply('ERR push: bad group at argument ' .. i)
  end
  i = i + 2 + n * 5
end

local now = nowMs()
local nowText = string.format('%d', now)
local expiries = {}
local fmt, match = string.format, string.match

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

-- The route entries of the group's sessions, and the pending / settled records of its ids.
local function readGroup(tag, n, base)
  local tokens, ids, checked, rts = {}, {}, {}, {}
  for j = 0, n - 1 do
    local at = base + j * 5
    local token = ARGV[at]
    if rts[token] == nil then
      rts[token] = false
      tokens[#tokens + 1] = token
    end
    ids[j + 1] = ARGV[at + 1]
    if ARGV[at + 3] == '1' then
      checked[#checked + 1] = ARGV[at + 1]
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

local function pushGroup(tag, n, base, out)
  local backlog = redis.call('XLEN', tag .. ':outbox') > outboxMax
  local rts, pending, settled = readGroup(tag, n, base)
  local q, pid, seen, changed, stored = {}, {}, {}, {}, 0
  for j = 0, n - 1 do
    local at = base + j * 5
    local token, id = ARGV[at], ARGV[at + 1]
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
        q[#q + 1] = headOf(ARGV[at + 2]) .. ARGV[at + 4]
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

local out = { now }
i = 7
while i <= #ARGV do
  local n = tonumber(ARGV[i + 1])
  pushGroup(ARGV[i], n, i + 2, out)
  i = i + 2 + n * 5
end
return out
