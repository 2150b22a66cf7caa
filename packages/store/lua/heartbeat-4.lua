--[[
  heartbeat: a node instance says it is alive until now + ttl, and extends (or restarts) its streak of
  successful heartbeats — what lets it reap others (the rule is in claim-dead-node-3.lua).

  KEYS[1] live zset   KEYS[2] reaping zset   KEYS[3] node info hash   KEYS[4] streak hash
  ARGV[1] node instance   ARGV[2] ttl ms   ARGV[3] '1' for the instance's first heartbeat
  ARGV[4] what the node reports about itself (JSON: connections, sessions, …), shown by /v1/nodes
  ARGV[5] longest gap between two heartbeats of one streak, in ms

  Result: { 1, streak ms } alive; { 0, 0 } the instance had been declared dead (its connections are being or were
  reaped). A dead instance is never registered again: the node must drop its sockets and start over under a new
  instance id (a reap still running then cannot touch the new instance's connections).
  Streak hash value: "<streak start>:<last heartbeat>" (Redis clock, ms).
]]
--- @include "now"

local instance, ttl, first, gap = ARGV[1], tonumber(ARGV[2]), ARGV[3] == '1', tonumber(ARGV[5])
if not (ttl and gap) then
  return redis.error_reply('ERR heartbeat: bad arguments')
end
if not first and (not redis.call('ZSCORE', KEYS[1], instance) or redis.call('ZSCORE', KEYS[2], instance)) then
  return { 0, 0 }
end
local now = nowMs()
local start = now
local streak = redis.call('HGET', KEYS[4], instance)
if streak then
  local s, last = string.match(streak, '^(%d+):(%d+)$')
  s, last = tonumber(s), tonumber(last)
  if s and last and now - last <= gap and last <= now then
    start = s
  end
end
redis.call('HSET', KEYS[4], instance, string.format('%d:%d', start, now))
redis.call('ZADD', KEYS[1], now + ttl, instance)
redis.call('HSET', KEYS[3], instance, cjson.encode({ at = now, info = cjson.decode(ARGV[4]) }))
return { 1, now - start }
