-- GCRA for palisade-ratelimit, in integer microseconds (every quantity stays far below 2^53,
-- where Lua's numbers stop being exact integers).
-- KEYS[1]: the key's theoretical arrival time (TAT), absent for a fresh key.
-- ARGV[1]: emission interval T; ARGV[2]: tolerance tau = T x (burst - 1); ARGV[3]: cost;
-- ARGV[4]: "" to use the server's clock (production), or a fixed time for replaying vectors.
-- Returns {allowed (0|1), remaining, reset, retry_after (-1 for none)}.
local t = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now
if ARGV[4] == '' then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
else
  now = tonumber(ARGV[4])
end
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then
  tat = tonumber(stored)
end
local function remaining(x)
  local r = now + tau + t - x
  if r < 0 then r = 0 end
  if r > tau + t then r = tau + t end
  return math.floor(r / t)
end
local function reset(x)
  if x > now then return x - now end
  return 0
end
local weight = t * (cost - 1)
if weight > tau then
  return {0, remaining(tat), reset(tat), -1}
end
local earliest = tat + weight - tau
if now < earliest then
  return {0, remaining(tat), reset(tat), earliest - now}
end
local new = math.max(tat, now) + t + weight
-- The key lives exactly as long as it differs from a fresh key.
redis.call('SET', KEYS[1], string.format('%d', new), 'PX', math.floor((new - now) / 1000) + 1)
return {1, remaining(new), new - now, -1}
