-- The Redis server's clock in milliseconds: one clock for every node of the cluster.
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
