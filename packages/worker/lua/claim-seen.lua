--[[
  claim-seen: before a handler runs, claims the items a job would hand it, so that no item reaches the
  same handler twice, whichever job carries it and however often a job runs.

  A marker is absent (never seen), `done` (handed over and its handler resolved), or the owner string of
  the job that claimed it and has not finished it yet (`p:<queue>/<jobId>`).

  KEYS[1..n] seen markers of the items, all of one shard (one hash slot)
  ARGV[1] owner: `p:<queue>/<jobId>` of the claiming job   ARGV[2] marker ttl ms

  Result: one number per key: 1 claimed (absent, or already this owner's: a retry or stalled re-run of the
          same job), 0 done before, -1 claimed by another job (which hands it over, or fails and retries)
  Side effects: every absent marker is set to the owner, with the ttl.
]]
local owner, ttl = ARGV[1], ARGV[2]
local result = {}
for i, key in ipairs(KEYS) do
  local value = redis.call('GET', key)
  if not value then
    redis.call('SET', key, owner, 'PX', ttl)
    result[i] = 1
  elseif value == owner then
    result[i] = 1
  elseif value == 'done' then
    result[i] = 0
  else
    result[i] = -1
  end
end
return result
