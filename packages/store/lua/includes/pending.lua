-- Pending messages of a bucket, <tag>:pq: field "<seq>|<token>" -> "<ts>|<exp>|<#id>|<id><body>", the body being the
-- data (JSON text), or, for a traced push, "~<traceparent>" (TRACE_PART bytes) and then the data
-- (store/src/messages/trace-context.ts); and <tag>:pid: message id -> "<seq>|<token>" (duplicates, status lookups).
local TRACE_PART = 56

-- The data of a body: a body that starts with '~' (JSON text never does) carries its trace part first.
local function pqData(body)
  if string.byte(body, 1) == 126 then
    return string.sub(body, TRACE_PART + 1)
  end
  return body
end

local function pqField(seq, token)
  return seq .. '|' .. token
end

local function pqPack(ts, exp, id, data)
  return ts .. '|' .. exp .. '|' .. #id .. '|' .. id .. data
end

-- ts, exp, id, body of a packed pending message (the data is pqData(body))
local function pqUnpack(v)
  local ts, exp, n, rest = string.match(v, '^(%d+)|(%d+)|(%d+)|(.*)$')
  n = tonumber(n)
  return tonumber(ts), tonumber(exp), string.sub(rest, 1, n), string.sub(rest, n + 1)
end

-- Redis keeps a small hash as a listpack, whose lookups scan it (a few hundred fields cost more than the rest of a
-- push): the hot hashes of a bucket (<tag>:pq, <tag>:pid, <tag>:rt, the status slots) carry one field whose value is
-- too long for a listpack, so that Redis makes them hash tables from their first write.
local HASHTABLE_FIELD, HASHTABLE_VALUE = '~', string.rep('~', 1100)
