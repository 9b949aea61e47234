-- wrk script for bench/load.py. Cycles through prepared requests read from a file
-- (wrk ... -s bench/requests.lua URL -- FILE THREADS), one request a line:
--
--   METHOD <tab> PATH <tab> HEADERS <tab> BODY      HEADERS: "Name: value|Name: value"
--
-- and prints one JSON line of totals and latency percentiles at the end.

local counter = 0

function setup(thread)
  thread:set("thread_index", counter)
  counter = counter + 1
end

local prepared = {}
local position = 0

function init(args)
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    local method, path, headers, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local h = {}
    for name, value in headers:gmatch("([^|:]+): ([^|]*)") do
      h[name] = value
    end
    if body == "" then
      body = nil
    end
    prepared[#prepared + 1] = wrk.format(method, path, h, body)
  end
  file:close()
  -- Threads start at different points so they don't send the same request at once.
  local threads = tonumber(args[2]) or 1
  position = math.floor(#prepared * (thread_index or 0) / threads)
end

function request()
  position = position % #prepared + 1
  return prepared[position]
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, '
      .. '"read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d, '
      .. '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    latency.mean
  ))
end
