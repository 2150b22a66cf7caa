--[[
  claim-job: before a run of a job hands the job's items to one handler, claims the job for that handler, so
  that two runs of the same job (a stalled job run again while its first run still goes) never hand its items
  over at once, and a run after the handler resolved hands nothing again.

  A marker is absent (not claimed, or the job completed), `done` (the handler resolved for this job), or the
  owner string of the run that holds it (`p:<BullMQ lock token of the run>`). A claim is a lease: its run
  renews it while the handler runs (renew-job.lua), so that the claim of a run that died lapses by itself.

  KEYS[1] dedupe marker of the job for the handler
  ARGV[1] owner: `p:<token>` of the claiming run   ARGV[2] lease ms

  Result: { 1, 0 } claimed (absent, or already this run's)
          { 0, 0 } done: the handler resolved for this job before
          { -1, pttl } held by another run, for pttl ms more unless that run renews it
  Side effects: an absent marker is set to the owner, with the lease.
]]
local value = redis.call('GET', KEYS[1])
if not value or value == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return { 1, 0 }
elseif value == 'done' then
  return { 0, 0 }
end
return { -1, redis.call('PTTL', KEYS[1]) }
