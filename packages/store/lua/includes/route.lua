-- The route index of a bucket, <tag>:rt: token -> "<seq>|<count>|<lo>|<recounted>|<grace>|<holders>", present while the
-- session lives (one HMGET of a bucket answers "does it live, and where are its connections" for many tokens).
--   seq        sequence number of the session's last stored push (pushes are numbered 1, 2, … per session)
--   count      pending messages, an upper bound (acknowledgements do not lower it; a recount makes it exact)
--   lo         no pending message has a lower sequence number
--   recounted  when count was last made exact (Redis clock, ms)
--   grace      while the session has no connection: when it ends (ms); 0 while connected
--   holders    "<instance>:<connections>,…": the node instances holding connections, and how many each
local function rtParse(v)
  local seq, count, lo, rc, g, holders = string.match(v, '^(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|(.*)$')
  return { seq = tonumber(seq), count = tonumber(count), lo = tonumber(lo), rc = tonumber(rc), g = tonumber(g),
           holders = holders }
end

local function rtFormat(rt)
  return rt.seq .. '|' .. rt.count .. '|' .. rt.lo .. '|' .. rt.rc .. '|' .. rt.g .. '|' .. rt.holders
end

-- `holders` with `delta` more connections of `instance` (an instance at 0 is dropped); and its new count.
local function holdersAdd(holders, instance, delta)
  local out, mine = {}, 0
  for entry in string.gmatch(holders, '[^,]+') do
    local inst, n = string.match(entry, '^(.*):(%d+)$')
    n = tonumber(n)
    if inst == instance then
      n = n + delta
      mine = n
    end
    if n > 0 then
      out[#out + 1] = inst .. ':' .. n
    end
  end
  if mine == 0 and delta > 0 then
    out[#out + 1] = instance .. ':' .. delta
    mine = delta
  end
  return table.concat(out, ','), mine
end
