-- Ends a session — the only code that does. Its pending messages become expired, its keys, index entries and group
-- memberships go, one `session.ended` event is appended to the outbox, and a tombstone <tag>:e:<token> remembers
-- the lifetime for a minute (a replayed logout answers the same; the next lifetime's `session.started` names it as `prev`).
-- k: { tag, session, marker, due, all, outbox, stats }; r: { slotMs, retentionMs, stats }.
-- Returns the ended lifetime's sid, its outbox entry id, its last socket id and the instances that held it.
local function endSession(k, token, reason, now, r, requestId)
  local sid, lastId, n = unpack(redis.call('HMGET', k.session, 'sid', 'lc', 'n'))
  lastId = lastId or redis.call('HGET', k.session, 'fc') or ''
  local rtv = redis.call('HGET', k.tag .. ':rt', token)
  local holders = ''
  if rtv then
    local rt = rtParse(rtv)
    holders = rt.holders
    inboxRead(k.tag, token, { from = rt.lo, to = rt.seq, limit = math.huge, scanMax = math.huge, all = true }, now, r)
    redis.call('HDEL', k.tag .. ':rt', token)
  end
  if tonumber(n or 0) > 0 then
    local fields = redis.call('HGETALL', k.session)
    for i = 1, #fields, 2 do
      if string.sub(fields[i], 1, 2) == 'c:' then
        local instance = string.match(fields[i + 1], '^(.*)|')
        redis.call('SREM', k.tag .. ':ni:' .. instance, token)
      end
    end
  end
  -- its memberships end with it (join-group-1.lua bounds how many)
  local sg = k.tag .. ':sg:' .. token
  for _, group in ipairs(redis.call('SMEMBERS', sg)) do
    redis.call('ZREM', k.tag .. ':gm:' .. group, token)
  end
  redis.call('DEL', k.session, k.marker, sg)
  redis.call('ZREM', k.due, token)
  redis.call('ZREM', k.all, token)
  local entry = redis.call('XADD', k.outbox, '*', 'e', cjson.encode({
    type = 'session.ended', token = token, sid = sid, id = lastId, status = 0, at = now, reason = reason,
  }))
  redis.call('SET', k.tag .. ':e:' .. token, cjson.encode({ sid = sid, entry = entry, id = lastId, rq = requestId or '',
    holders = holders }), 'PX', 60000)
  return sid, entry, lastId, holders
end

-- The keys of one session of a bucket.
local function sessionKeys(tag, token)
  return { tag = tag, session = tag .. ':s:' .. token, marker = tag .. ':g:' .. token, due = tag .. ':due',
           all = tag .. ':all', outbox = tag .. ':outbox', stats = tag .. ':stats' }
end
