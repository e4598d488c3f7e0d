-- wrk script of bench/serve.py: a bounded number of requests, each checked, percentiles as JSON.
-- A thread that did not finish its share within -d makes the run count the whole -d.
-- Arguments: method, expected status, requests per thread, file of paths, number of threads, header lines…
-- GET: every thread asks the first path; POST: thread n takes paths n, n + threads, n + 2 × threads…
-- One connection per thread, so request k follows answer k - 1: the path sent is chosen by the
-- number of answers (wrk may build a request it never sends; that must not skip a path).
local threads = {}

-- wrk's own duration is always the -d given, even when every thread stopped early: each
-- thread notes when it sent its first request and got its last answer (date has ns).
local function now()
  local clock = io.popen("date +%s%N")
  local value = tonumber(clock:read("*l"))
  clock:close()
  return value / 1e9
end

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  method, expected, limit, total = args[1], tonumber(args[2]), tonumber(args[3]), tonumber(args[5])
  extra = {}
  for i = 6, #args do
    local name, value = string.match(args[i], "^([^:]+): (.*)$")
    if name then extra[name] = value end
  end
  paths = {}
  local number = 0
  for line in io.lines(args[4]) do
    number = number + 1
    if method == "GET" or (number - 1) % total == id - 1 then paths[#paths + 1] = line end
  end
  answered, bad = 0, 0
end

function request()
  if not started then started = now() end
  local headers = {}
  for name, value in pairs(extra) do headers[name] = value end
  if method == "POST" then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    local path = paths[answered + 1] or paths[#paths]
    return wrk.format("POST", path, headers, "List-Unsubscribe=One-Click")
  end
  return wrk.format("GET", paths[1], headers)
end

function response(status, headers, body)
  answered = answered + 1
  if status ~= expected then bad = bad + 1 end
  if answered >= limit then
    finished = now()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local wrong, first, last = 0, nil, nil
  for _, thread in ipairs(threads) do
    wrong = wrong + thread:get("bad")
    local started, finished = thread:get("started"), thread:get("finished")
    if started and (not first or started < first) then first = started end
    if not finished then last = nil; break end
    if not last or finished > last then last = finished end
  end
  local seconds = (first and last) and (last - first) or summary.duration / 1e6
  local errors = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "seconds": %.6f, "p50": %.3f, "p95": %.3f, "p99": %.3f, "wrong_status": %d, "socket_errors": %d}\n',
    summary.requests, seconds, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, wrong, errors.connect + errors.read + errors.write + errors.timeout))
end
