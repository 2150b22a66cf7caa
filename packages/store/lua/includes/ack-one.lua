-- Settles one message acknowledged by id (the body of ack.lua and ack-many.lua).
-- Returns code, deliveredAt, outbox entry id, data, pushedAt (codes as ack.lua).
local function ackOne(mkey, inbox, r)
  local owner, st, exp, at = unpack(redis.call('HMGET', mkey, 't', 'st', 'exp', 'at'))
  if not owner then
    return -1
  end
  if owner ~= r.token then
    return -2
  end
  if st == 'd' then
    return 0, tonumber(at)
  end
  if st ~= 'p' or tonumber(exp) <= r.now then
    return -3
  end
  return 1, settle(mkey, inbox, r.outbox, r.id, r)
end
