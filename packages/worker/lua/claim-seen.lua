--[[
  claim-seen: before a handler runs, claims one item a job would hand it, so that no item reaches the
  same handler twice, whichever job carries it and however often a job runs.

  A marker is absent (never seen), `done` (handed over and its handler resolved), or the owner string of
  the job that claimed it and has not finished it yet (`p:<queue>/<jobId>`).

  One key per call, so that ioredis auto-pipelining routes each call by its key on Redis Cluster: the
  claims of a whole batch still travel in one round trip per node.

  KEYS[1] seen marker of the item
  ARGV[1] owner: `p:<queue>/<jobId>` of the claiming job   ARGV[2] marker ttl ms

  Result: 1 claimed (absent, or already this owner's: a retry or a stalled re-run of the same job),
          0 done before, -1 claimed by another job (which hands it over, or fails and retries)
  Side effects: an absent marker is set to the owner, with the ttl.
]]
local value = redis.call('GET', KEYS[1])
if not value then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
elseif value == ARGV[1] then
  return 1
elseif value == 'done' then
  return 0
end
return -1
