--[[
  set-data: stores a client's data on its live session (never creates one).

  KEYS[1] session hash
  ARGV[1] data (JSON text)
  Result: 1 stored, 0 no such session
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'd', ARGV[1])
return 1
