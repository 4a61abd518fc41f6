-- Login counters for palisade-ratelimit: one attempt reserved atomically. Each key is a hash
-- {f = attempts counted, t = last counted attempt in ms on the server's clock}.
-- 'reserve': KEYS = account, account+client, client[, device]; ARGV[2] = window ms, then the
--   hard limits (failures, lockout ms) for account+client, client and device. Mirrors
--   `decide` in src/login/store.rs. Returns {0, scope, wait_ms} (scope 1: account+client,
--   2: client) or {1, trusted, now, account f, account t, pair f, pair t, client f, client t,
--   device f, device t} with the counters as they were before this attempt.
-- 'undo': ARGV[2] = n; takes one attempt back from the first n keys and deletes the rest.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local function read(key)
  local v = redis.call('HMGET', key, 'f', 't')
  return tonumber(v[1]) or 0, tonumber(v[2]) or 0
end

local function wait(f, t, limit, lockout)
  if limit == 0 or f < limit then
    return 0
  end
  local w = t + lockout - now
  if w > 0 then
    return w
  end
  return 0
end

if ARGV[1] == 'reserve' then
  local window = tonumber(ARGV[2])
  local af, at = read(KEYS[1])
  local pf, pt = read(KEYS[2])
  local cf, ct = read(KEYS[3])
  local df, dt = 0, 0
  local trusted = 0
  if #KEYS >= 4 then
    df, dt = read(KEYS[4])
    if wait(df, dt, tonumber(ARGV[7]), tonumber(ARGV[8])) == 0 then
      trusted = 1
    end
  end
  local w = wait(cf, ct, tonumber(ARGV[5]), tonumber(ARGV[6]))
  if w > 0 then
    return {0, 2, w}
  end
  if trusted == 0 then
    w = wait(pf, pt, tonumber(ARGV[3]), tonumber(ARGV[4]))
    if w > 0 then
      return {0, 1, w}
    end
  end
  for i = 1, #KEYS do
    redis.call('HINCRBY', KEYS[i], 'f', 1)
    redis.call('HSET', KEYS[i], 't', string.format('%d', now))
    redis.call('PEXPIRE', KEYS[i], window)
  end
  return {1, trusted, now, af, at, pf, pt, cf, ct, df, dt}
end

local n = tonumber(ARGV[2])
for i = 1, #KEYS do
  if i <= n then
    local f = tonumber(redis.call('HGET', KEYS[i], 'f') or '0') or 0
    if f > 0 then
      redis.call('HINCRBY', KEYS[i], 'f', -1)
    end
  else
    redis.call('DEL', KEYS[i])
  end
end
return {1}
