-- Stores one message for a live session (the body of push.lua and push-many.lua).
-- k: { session, inbox, message, stats, msgPrefix }. Returns code, ts, connections (codes as push.lua).
local function storeMessage(k, token, id, data, ttl, retention, now)
  local n = redis.call('HGET', k.session, 'n')
  if not n then
    return 0, 0, 0
  end
  local existing = redis.call('HMGET', k.message, 't', 'ts')
  if existing[1] then
    if existing[1] ~= token then
      return -2, 0, 0
    end
    return 2, tonumber(existing[2]), tonumber(n)
  end
  for _ = 1, 16 do
    local head = redis.call('LINDEX', k.inbox, 0)
    if not head then break end
    local st, exp = unpack(redis.call('HMGET', k.msgPrefix .. head, 'st', 'exp'))
    if st == 'p' and tonumber(exp) > now then break end
    if st == 'p' then
      expireMessage(k.msgPrefix .. head, k.stats, retention)
    end
    redis.call('LPOP', k.inbox)
  end
  redis.call('HSET', k.message, 't', token, 'd', data, 'ts', now, 'exp', now + ttl, 'st', 'p')
  redis.call('PEXPIRE', k.message, ttl + retention)
  redis.call('RPUSH', k.inbox, id)
  redis.call('HINCRBY', k.stats, 'pushed', 1)
  return 1, now, tonumber(n)
end
