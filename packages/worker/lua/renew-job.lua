--[[
  renew-job: a run that holds a job's claim extends its lease while the handler runs.

  KEYS[1] dedupe marker of the job for the handler
  ARGV[1] owner: `p:<token>` of the run   ARGV[2] lease ms

  Result: 1 renewed, 0 not this run's claim any more (lapsed, or taken by another run, or `done`)
  Side effects: the marker's ttl is set to the lease when it is the owner's claim.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
