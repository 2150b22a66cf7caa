--[[
  heartbeat: a node instance says it is alive until now + ttl.

  KEYS[1] live zset   KEYS[2] reaping zset   KEYS[3] node info hash
  ARGV[1] node instance   ARGV[2] ttl ms   ARGV[3] '1' for the instance's first heartbeat
  ARGV[4] what the node reports about itself (JSON: connections, sessions, …), shown by /v1/nodes

  Result: 1 alive; 0 the instance had been declared dead (its connections are being or were reaped):
  it is registered again, and must drop its sockets so that their clients connect afresh.
]]
--- @include "now"

local instance, ttl, first = ARGV[1], tonumber(ARGV[2]), ARGV[3] == '1'
local known = redis.call('ZSCORE', KEYS[1], instance)
local now = nowMs()
redis.call('ZADD', KEYS[1], now + ttl, instance)
redis.call('HSET', KEYS[3], instance, cjson.encode({ at = now, info = cjson.decode(ARGV[4]) }))
if not first and (not known or redis.call('ZSCORE', KEYS[2], instance)) then
  return 0
end
return 1
