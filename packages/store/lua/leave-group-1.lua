--[[
  leave-group: ends a live session's membership of a group. Safe to replay: the second run finds no membership.

  KEYS[1] session hash <tag>:s:<token>
  ARGV[1] bucket tag   ARGV[2] token   ARGV[3] group name

  Result: 1 left   2 was not a member   0 no live session
  Side effects: the group leaves <tag>:sg:<token>, the token <tag>:gm:<group> (Redis drops a set left empty).
]]
local tag, token, group = ARGV[1], ARGV[2], ARGV[3]
if group == '' then
  return redis.error_reply('ERR leave-group: bad arguments')
end
if redis.call('HEXISTS', tag .. ':rt', token) == 0 then
  return 0
end
if redis.call('SREM', tag .. ':sg:' .. token, group) == 0 then
  return 2
end
redis.call('ZREM', tag .. ':gm:' .. group, token)
return 1
