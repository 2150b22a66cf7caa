-- Ends a session: its pending messages become 'expired', its keys go, and one `session.ended` event is
-- appended to the bucket outbox. Returns the ended session's id and the outbox entry id.
local function endSession(k, token, reason, now, retentionMs)
  local sid, lastId = unpack(redis.call('HMGET', k.session, 'sid', 'lc'))
  local ids = redis.call('LRANGE', k.inbox, 0, -1)
  local expired = 0
  for _, id in ipairs(ids) do
    local mkey = k.msgPrefix .. id
    if redis.call('HGET', mkey, 'st') == 'p' then
      redis.call('HSET', mkey, 'st', 'x')
      redis.call('HDEL', mkey, 'd')
      redis.call('PEXPIRE', mkey, retentionMs)
      expired = expired + 1
    end
  end
  if expired > 0 then
    redis.call('HINCRBY', k.stats, 'expired', expired)
  end
  redis.call('DEL', k.session, k.inbox, k.marker)
  redis.call('ZREM', k.due, token)
  redis.call('ZREM', k.all, token)
  local entry = redis.call('XADD', k.outbox, '*', 'e', cjson.encode({
    type = 'session.ended', token = token, sid = sid, id = lastId or '', status = 0, at = now, reason = reason,
  }))
  return sid, entry
end
