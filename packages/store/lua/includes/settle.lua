-- Marks a pending message delivered and appends its one receipt to the outbox.
-- Returns deliveredAt, the outbox entry id, the message data and the push time.
local function settle(mkey, inbox, outbox, id, r)
  redis.call('HINCRBY', r.stats, 'delivered', 1)
  local now = r.now
  local token, data, ts = unpack(redis.call('HMGET', mkey, 't', 'd', 'ts'))
  redis.call('HSET', mkey, 'st', 'd', 'at', now)
  redis.call('HDEL', mkey, 'd')
  redis.call('PEXPIRE', mkey, r.retentionMs)
  redis.call('LREM', inbox, 1, id)
  local entry = redis.call('XADD', outbox, '*', 'e', cjson.encode({
    type = 'receipt', id = id, token = token, data = data, deliveredAt = now, nodeId = r.nodeId, socketId = r.socketId,
  }))
  return now, entry, data, ts
end
