-- wrk script of bench/service.sh: GET requests cycling over the paths listed
-- in the file $BENCH_PATHS (one a line; requests formatted once per thread,
-- in init, where wrk's Host header is known: nginx answers 400 without it),
-- and at the end one line "RESULT key=value ..." for the script to read.
local reqs = {}
local i = 0

function init(args)
    for line in io.lines(os.getenv("BENCH_PATHS")) do
        if line ~= "" then
            reqs[#reqs + 1] = wrk.format("GET", line)
        end
    end
    i = math.random(#reqs)
end

function request()
    i = i % #reqs + 1
    return reqs[i]
end

function done(summary, latency, _)
    local e = summary.errors
    io.write(string.format(
        "RESULT requests=%d duration_us=%d bytes=%d non2xx=%d errors=%d p50_us=%d p99_us=%d\n",
        summary.requests, summary.duration, summary.bytes, e.status,
        e.connect + e.read + e.write + e.timeout,
        math.floor(latency:percentile(50)), math.floor(latency:percentile(99))))
end
