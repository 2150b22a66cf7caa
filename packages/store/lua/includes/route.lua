-- The route index of a bucket, <tag>:rt: token -> the route entry, present while the session lives (one HMGET of a
-- bucket answers "does it live, and where are its connections" for many tokens). The entry is binary, struct
-- '>dIddd' followed by the holders text, because pushes read and rewrite it for every message (text would cost a
-- number conversion per field):
--   seq        d  sequence number of the session's last stored push (pushes are numbered 1, 2, … per session)
--   count      I  pending messages, an upper bound (acknowledgements do not lower it; a recount makes it exact)
--   lo         d  no pending message has a lower sequence number
--   recounted  d  when count was last made exact (Redis clock, ms)
--   grace      d  while the session has no connection: when it ends (ms); 0 while connected
--   holders       "<instance>:<connections>,…": the node instances holding connections, and how many each
local RT_LAYOUT = '>dIddd'

local function rtParse(v)
  local seq, count, lo, rc, g, at = struct.unpack(RT_LAYOUT, v)
  return { seq = seq, count = count, lo = lo, rc = rc, g = g, holders = string.sub(v, at) }
end

local function rtFormat(rt)
  return struct.pack(RT_LAYOUT, rt.seq, rt.count, rt.lo, rt.rc, rt.g) .. rt.holders
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
