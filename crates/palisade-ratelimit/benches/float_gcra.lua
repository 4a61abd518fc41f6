-- Baseline for the benches only: GCRA with floating-point seconds, in the style of the
-- common Go limiter scripts. KEYS[1]: TAT in float seconds. ARGV: rate per period, period in
-- seconds, burst, cost.
local rate = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local interval = period / rate
local tolerance = interval * burst
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local next_tat = tat + interval * cost
local allow_from = next_tat - tolerance
local slack = now - allow_from
local remaining = math.floor(slack / interval + 0.5)
if remaining < 0 then
  return {0, 0, tostring(allow_from - now), tostring(tat - now)}
end
local ttl = next_tat - now
if ttl > 0 then
  redis.call('SET', KEYS[1], tostring(next_tat), 'EX', math.ceil(ttl))
end
return {cost, remaining, '-1', tostring(ttl)}
