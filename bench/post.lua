-- wrk script: POST the JSON body in the file named after `--`, and print a JSON summary at the end.
--   wrk -t2 -c16 -d10s -s bench/post.lua http://127.0.0.1:8011/graphql -- body.json [API_KEY]

local request_bytes

function init(args)
   local path = args[1]
   if path == nil then
      error("usage: wrk ... -s post.lua URL -- BODY_FILE")
   end
   local file = assert(io.open(path, "rb"))
   local body = file:read("*a")
   file:close()
   local headers = {}
   headers["Content-Type"] = "application/json"
   headers["Accept"] = "application/json"
   if args[2] ~= nil then
      headers["Authorization"] = "Bearer " .. args[2]
   end
   request_bytes = wrk.format("POST", nil, headers, body)
end

function request()
   return request_bytes
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      '\nBENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
      '"latency_us": {"mean": %.1f, "p50": %d, "p90": %d, "p99": %d, "max": %d}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
