--[[
  join-group: makes a live session a member of a group, for the rest of its lifetime (end-session removes it).
  Safe to replay: a member joins once (code 2 the second time).

  KEYS[1] session hash <tag>:s:<token>
  ARGV[1] bucket tag   ARGV[2] token   ARGV[3] group name   ARGV[4] most groups one session may belong to
  ARGV[5] most members a group may have in this bucket

  Result: 1 joined   2 already a member   0 no live session   -6 the session is in its most groups
          -7 the group is full
  Side effects: the group in <tag>:sg:<token>, the token in <tag>:gm:<group>.
]]
--- @include "now"
--- @include "route"

local tag, token, group = ARGV[1], ARGV[2], ARGV[3]
local maxGroups, maxMembers = tonumber(ARGV[4]), tonumber(ARGV[5])
if not (maxGroups and maxMembers) or group == '' then
  return redis.error_reply('ERR join-group: bad arguments')
end
local rtv = redis.call('HGET', tag .. ':rt', token)
if not rtv then
  return 0
end
local rt = rtParse(rtv)
if rt.g > 0 and rt.g <= nowMs() then
  return 0
end
local groups, members = tag .. ':sg:' .. token, tag .. ':gm:' .. group
if redis.call('SISMEMBER', groups, group) == 1 then
  return 2
end
if redis.call('SCARD', groups) >= maxGroups then
  return -6
end
if redis.call('ZCARD', members) >= maxMembers then
  return -7
end
redis.call('SADD', groups, group)
redis.call('ZADD', members, 0, token)
return 1
