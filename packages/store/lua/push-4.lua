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
--- @include "store-message"

local k = { session = KEYS[1], inbox = KEYS[2], message = KEYS[3], stats = KEYS[4], msgPrefix = ARGV[6] }
local code, ts, n = storeMessage(k, ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), nowMs())
if code <= 0 then
  return { code }
end
return { code, ts, n }
