--[[
  push-many: stores several messages of one bucket in one call, each exactly as push.lua does (a batch job
  costs one round trip per bucket instead of one per message).

  KEYS[1] bucket stats hash
  ARGV[1] bucket key tag (session keys are <tag>:s:<token>, …)   ARGV[2] status retention ms
  ARGV[3 + 4i …] per message: token, message id, data (JSON text), ttl ms

  Result: flat triples code, ts, connections per message, in order (codes as push.lua; 0s when not stored)
]]
--- @include "now"
--- @include "expire-message"
--- @include "store-message"

local tag, retention = ARGV[1], tonumber(ARGV[2])
local now = nowMs()
local result = {}
for i = 3, #ARGV, 4 do
  local token, id = ARGV[i], ARGV[i + 1]
  local k = { session = tag .. ':s:' .. token, inbox = tag .. ':q:' .. token, message = tag .. ':m:' .. id,
              stats = KEYS[1], msgPrefix = tag .. ':m:' }
  local code, ts, n = storeMessage(k, token, id, ARGV[i + 2], tonumber(ARGV[i + 3]), retention, now)
  result[#result + 1] = code
  result[#result + 1] = ts
  result[#result + 1] = n
end
return result
