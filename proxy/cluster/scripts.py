"""The Redis scripts of cross-replica run sharing (``runs.py``), each one atomic operation.

Every decision that two replicas could race on (who leads a run key, whether capacity is left,
whether a dead holder's run may be taken over) is one script, run by Redis as one step. The
scripts read the time from Redis (``TIME``), so replicas' clocks need not agree. Keys and
arguments are listed above each script, in the order the caller passes them.
"""

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

_LAST_KIND = """
local function last_kind(events)
  local last = redis.call('XREVRANGE', events, '+', '-', 'COUNT', 1)
  if #last == 0 then return false, false end
  local fields = last[1][2]
  local kind, run_id = false, false
  for i = 1, #fields, 2 do
    if fields[i] == 'kind' then kind = fields[i + 1] end
    if fields[i] == 'run' then run_id = fields[i + 1] end
  end
  return kind, run_id
end
"""

# KEYS: lease, events, capacity, followers
# ARGV: token, lease_ms, max_active, resend (0/1), follower member, keep_ms, maxlen, run_id
OPEN_SCRIPT = (
    _NOW
    + _LAST_KIND
    + """
local held = redis.call('GET', KEYS[1])
local kind, run_id = last_kind(KEYS[2])
local follow = held
if not held and kind == 'result' and ARGV[4] == '1' then follow = 'finished' end
if follow then
  redis.call('ZADD', KEYS[4], now + tonumber(ARGV[2]), ARGV[5])
  redis.call('PEXPIRE', KEYS[4], tonumber(ARGV[2]) + tonumber(ARGV[6]))
  if held then return {'follow', held} end
  return {'follow', 'finished:' .. run_id}
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[3]) then return {'full'} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), ARGV[1])
redis.call('DEL', KEYS[2], KEYS[4])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*', 'kind', 'start', 'run', ARGV[8])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]) + tonumber(ARGV[6]))
return {'lead'}
"""
)

# KEYS: lease, events, capacity. ARGV: token, lease_ms, keep_ms, maxlen, run_id
# A follower's claim when the holder is gone: no lease and no outcome a reader still has to see.
TAKEOVER_SCRIPT = (
    _NOW
    + _LAST_KIND
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 'wait' end
local kind = last_kind(KEYS[2])
if kind == 'result' or kind == 'failed' then return 'wait' end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'kind', 'start', 'run', ARGV[5])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]) + tonumber(ARGV[3]))
return 'lead'
"""
)

# KEYS: lease, events, capacity. ARGV: token, lease_ms, keep_ms
RENEW_SCRIPT = (
    _NOW
    + """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]) + tonumber(ARGV[3]))
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), ARGV[1])
return 1
"""
)

# KEYS: lease, events, capacity, followers. ARGV: token, kind, run_id, data, keep_ms, maxlen
FINISH_SCRIPT = """
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'kind', ARGV[2], 'run', ARGV[3],
           'data', ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('PEXPIRE', KEYS[4], ARGV[5])
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""

# KEYS: followers. ARGV: member, ttl_ms (0: leave)
FOLLOWER_SCRIPT = (
    _NOW
    + """
if ARGV[2] == '0' then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
"""
)

# KEYS: followers. The followers still listening.
FOLLOWERS_SCRIPT = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
"""
)
