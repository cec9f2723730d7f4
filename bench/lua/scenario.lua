-- wrk script for the load harness (bench/run_bench.py). One script for every scenario,
-- configured through environment variables, so that the floor (nginx) and keypaird get
-- byte-for-byte the same request stream:
--   SCENARIO     import | generate | get | list | nlist | cert | native_generate, or one of
--                the GETs of PATH_Q: path | akeys | akeys304 | krl | krl304
--   TOKEN        API token (sent as "Authorization: APIKey <token>")
--   PROJECT      project id in the paths
--   NAME_PREFIX  unique per run: key names are NAME_PREFIX-<thread>-<n> (import, generate)
--   KEYS_FILE    import: one "ssh-ed25519 BASE64" line per key; request i of the run uses
--                key KEY_OFFSET + i, so every request of a run imports a different key
--                (while the file lasts; it wraps around after that)
--   KEY_OFFSET   import: first key to use
--   IDS_FILE     get, cert: key ids, walked round-robin (cert: a user certificate for
--                principal deploy, valid for an hour, of each key in turn)
--   PATH_Q       path: the one GET target every request asks (path and query)
--   IF_NONE_MATCH  sent as If-None-Match with every request when set (akeys304, krl304)
--   EXPECT_STATUS  the one status that counts as answered when set (304: the service's runs
--                of akeys304 and krl304, where a 200 means the ETag did not hold); unset,
--                any 2xx does
--   GEN_TYPE     native_generate: the generate.type of keypaird's own API (e.g. rsa-3072)
--   WRK_THREADS  the -t given to wrk (for striding over keys and ids)
-- Statuses are counted in response(); done() prints one machine-readable RESULT line.

local scenario = os.getenv("SCENARIO")
local token = os.getenv("TOKEN") or ""
local project = os.getenv("PROJECT") or "1"
local prefix = os.getenv("NAME_PREFIX") or "bench"
local nthreads = tonumber(os.getenv("WRK_THREADS") or "1")
local expect_status = tonumber(os.getenv("EXPECT_STATUS") or "")
local path_scenarios = {path = true, akeys = true, akeys304 = true, krl = true, krl304 = true}

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local function read_lines(path)
  local lines = {}
  for line in io.lines(path) do
    if #line > 0 then lines[#lines + 1] = line end
  end
  return lines
end

local keys, ids
local counter = 0
local headers = {
  ["Authorization"] = "APIKey " .. token,
  ["Content-Type"] = "application/json",
}
if os.getenv("IF_NONE_MATCH") then headers["If-None-Match"] = os.getenv("IF_NONE_MATCH") end

function init(args)
  non2xx = 0
  first_bad = ""
  if scenario == "import" then
    keys = read_lines(os.getenv("KEYS_FILE"))
    counter = tonumber(os.getenv("KEY_OFFSET") or "0")
  elseif scenario == "get" or scenario == "cert" then
    ids = read_lines(os.getenv("IDS_FILE"))
  end
end

function request()
  local n = counter
  counter = counter + 1
  if scenario == "import" then
    local key = keys[((n * nthreads + tid) % #keys) + 1]
    local body = '{"sshkey_name":"' .. prefix .. "-" .. tid .. "-" .. n ..
                 '","public_key":"' .. key .. '"}'
    return wrk.format("POST", "/cloud/v1/keypairs/" .. project .. "/1", headers, body)
  elseif scenario == "generate" then
    local body = '{"sshkey_name":"' .. prefix .. "-" .. tid .. "-" .. n .. '"}'
    return wrk.format("POST", "/cloud/v1/keypairs/" .. project .. "/1", headers, body)
  elseif scenario == "get" then
    local id = ids[((n * nthreads + tid) % #ids) + 1]
    return wrk.format("GET", "/cloud/v1/ssh_keys/" .. project .. "/" .. id, headers)
  elseif scenario == "cert" then
    local id = ids[((n * nthreads + tid) % #ids) + 1]
    return wrk.format("POST", "/api/v1/projects/" .. project .. "/keys/" .. id .. "/certificates",
                      headers, '{"principals":["deploy"],"valid_for":3600}')
  elseif scenario == "nlist" then
    return wrk.format("GET", "/api/v1/projects/" .. project .. "/keys?limit=10", headers)
  elseif path_scenarios[scenario] then
    return wrk.format("GET", os.getenv("PATH_Q"), headers)
  elseif scenario == "native_generate" then
    local body = '{"name":"' .. prefix .. "-" .. tid .. "-" .. n ..
                 '","generate":{"type":"' .. os.getenv("GEN_TYPE") .. '"}}'
    return wrk.format("POST", "/api/v1/projects/" .. project .. "/keys", headers, body)
  else
    return wrk.format("GET", "/cloud/v1/ssh_keys/" .. project .. "?limit=10", headers)
  end
end

function response(status, hdrs, body)
  local bad
  if expect_status then bad = status ~= expect_status else bad = status < 200 or status > 299 end
  if bad then
    non2xx = non2xx + 1
    if first_bad == "" then first_bad = status .. " " .. string.sub(body or "", 1, 200) end
  end
end

function done(summary, latency, requests)
  local bad, sample = 0, ""
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non2xx") or 0)
    local fb = t:get("first_bad") or ""
    if sample == "" and fb ~= "" then sample = fb end
  end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f req_s=%.1f p50_us=%d p99_us=%d non2xx=%d " ..
    "err_connect=%d err_read=%d err_write=%d err_timeout=%d\n",
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50),
    latency:percentile(99), bad, e.connect, e.read, e.write, e.timeout))
  if sample ~= "" then
    io.write("FIRST_BAD " .. string.gsub(sample, "\n", " ") .. "\n")
  end
end
