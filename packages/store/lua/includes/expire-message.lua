-- Marks a pending message whose TTL has passed as expired (counted once) and drops its data.
local function expireMessage(mkey, stats, retentionMs)
  redis.call('HSET', mkey, 'st', 'x')
  redis.call('HDEL', mkey, 'd')
  redis.call('PEXPIRE', mkey, retentionMs)
  redis.call('HINCRBY', stats, 'expired', 1)
end
