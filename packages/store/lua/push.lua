--[[
  push: stores one message for a live session, before anything is sent.

  KEYS[1] session hash   KEYS[2] inbox list   KEYS[3] message hash   KEYS[4] bucket stats hash
  ARGV[1] token   ARGV[2] message id   ARGV[3] data (JSON text)   ARGV[4] ttl ms   ARGV[5] status retention ms
  ARGV[6] message key prefix

  Result: { 1, ts, connections } stored; { 2, ts, connections } already stored under this id (idempotent retry);
          { 0 } no such session; { -2 } the id belongs to another token's message
  Side effects: up to 16 expired or settled ids are trimmed from the head of the inbox.
]]
--- @include "now"
--- @include "expire-message"

local session, inbox, message, stats = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local token, id, data, ttl, retention, msgPrefix =
  ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local n = redis.call('HGET', session, 'n')
if not n then
  return { 0 }
end
local now = nowMs()
local existing = redis.call('HMGET', message, 't', 'ts')
if existing[1] then
  if existing[1] ~= token then
    return { -2 }
  end
  return { 2, tonumber(existing[2]), tonumber(n) }
end
for _ = 1, 16 do
  local head = redis.call('LINDEX', inbox, 0)
  if not head then break end
  local st, exp = unpack(redis.call('HMGET', msgPrefix .. head, 'st', 'exp'))
  if st == 'p' and tonumber(exp) > now then break end
  if st == 'p' then
    expireMessage(msgPrefix .. head, stats, retention)
  end
  redis.call('LPOP', inbox)
end
redis.call('HSET', message, 't', token, 'd', data, 'ts', now, 'exp', now + ttl, 'st', 'p')
redis.call('PEXPIRE', message, ttl + retention)
redis.call('RPUSH', inbox, id)
redis.call('HINCRBY', stats, 'pushed', 1)
return { 1, now, tonumber(n) }
