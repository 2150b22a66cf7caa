--[[
  release-job: a run whose handler threw gives back its claim once BullMQ recorded the failure (and the job's
  progress), so that the job's retry can claim it at once instead of waiting for the lease to lapse.

  KEYS[1] dedupe marker of the job for the handler
  ARGV[1] owner: `p:<token>` of the releasing run

  Result: 1 released, 0 not this run's claim (done, lapsed, or held by another run): left as it is
  Side effects: deletes the marker when it is the owner's claim.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
