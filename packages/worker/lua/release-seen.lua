--[[
  release-seen: a job whose handler failed gives back the claims of the items it did not hand over, so that
  any job carrying them (its own retry included) can claim them again.

  KEYS[1] seen marker of the item
  ARGV[1] owner: `p:<queue>/<jobId>` of the releasing job

  Result: 1 released, 0 not this owner's claim (done, or claimed by another job): left as it is
  Side effects: deletes the marker when it is the owner's claim.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
