-- Login failure counter for palisade-ratelimit. KEYS[1]: a hash {f = failures, t = last
-- failure in ms on the server's clock}. ARGV[1]: "read" or "fail"; ARGV[2]: window in ms.
-- Returns {failures, last_ms, now_ms}.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if ARGV[1] == 'fail' then
  local f = redis.call('HINCRBY', KEYS[1], 'f', 1)
  redis.call('HSET', KEYS[1], 't', string.format('%d', now))
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  return {f, now, now}
end
local v = redis.call('HMGET', KEYS[1], 'f', 't')
return {tonumber(v[1]) or 0, tonumber(v[2]) or 0, now}
