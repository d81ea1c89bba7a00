#!/usr/bin/env bash
# Benchmarks, each side against its baseline in the same run (see docs/performance.md for figures and method):
#   1. micro: parse throughput of a 1,000-task ShowBatchJob answer, rendering one job, assembling a scrape;
#   2. scrape: ief_exporter's way vs a plain prometheus-cpp Family/Registry exporter holding the identical series,
#      each in its own process, scraped over HTTP on 127.0.0.1, plain and gzip; prints ratios;
#   3. scaling: the exporter from 10 to 10,000 jobs.
#   4. polling: the exporter's request rate against a simulator vs wrk's on the same endpoint, with the builtin
#      HTTP client and with libcurl (POLL_SIZES, default "2000x10 1000x100 1000x100:vary": jobs x tasks, and
#      ":vary" for answers that differ at every request).
# BENCH_JOBS / BENCH_TASKS set the comparison size (default 1000 x 100); BENCH_SECTIONS picks sections.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
JOBS="${BENCH_JOBS:-1000}"
TASKS="${BENCH_TASKS:-100}"
bench="$BUILD_DIR/tests/bench"

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
want() { [[ " ${BENCH_SECTIONS:-micro scrape scaling polling} " == *" $1 "* ]]; }

if want micro; then
echo "== micro benchmarks"
"$bench/micro_bench" --benchmark-samples 10 | grep -E "^(parse|render|assemble|jobs|x )|parse_throughput|^ +[0-9.]+ (ms|us|s) " || true
fi

if want scrape; then
echo
echo "== scrape of ${JOBS} jobs x ${TASKS} tasks over HTTP (median of 5), exporter vs prometheus-cpp Family/Registry"
printf "%-8s %12s %12s %8s %12s %12s %8s\n" encoding "exporter ms" "baseline ms" ratio "exporter MB" "baseline MB" ratio
for encoding in plain gzip; do
  e=$("$bench/scrape_compare" exporter "$JOBS" "$TASKS" 5 "$encoding")
  b=$("$bench/scrape_compare" baseline "$JOBS" "$TASKS" 5 "$encoding")
  ems=$(echo "$e" | field scrape_ms); bms=$(echo "$b" | field scrape_ms)
  erss=$(echo "$e" | field rss_mb); brss=$(echo "$b" | field rss_mb)
  printf "%-8s %12s %12s %8.3f %12s %12s %8.3f\n" "$encoding" "$ems" "$bms" "$(echo "$ems / $bms" | bc -l)" \
    "$erss" "$brss" "$(echo "$erss / $brss" | bc -l)"
done
bytes_per_task=$(echo "$e" | field rss_mb | awk -v n=$((JOBS * TASKS)) '{printf "%.0f", $1 * 1048576 / n}')
echo "exporter resident bytes per tracked task: ${bytes_per_task}"
fi

if want scaling; then
echo
echo "== scaling (exporter, ${TASKS} tasks per job, median of 3)"
printf "%8s %12s %12s %12s\n" jobs "plain ms" "gzip ms" "RSS MB"
for n in 10 100 1000 10000; do
  p=$("$bench/scrape_compare" exporter "$n" "$TASKS" 3 plain)
  g=$("$bench/scrape_compare" exporter "$n" "$TASKS" 3 gzip)
  printf "%8s %12s %12s %12s\n" "$n" "$(echo "$p" | field scrape_ms)" "$(echo "$g" | field scrape_ms)" \
    "$(echo "$p" | field rss_mb)"
done
fi

want polling || exit 0
echo
echo "== polling rate vs wrk on the same simulator endpoint (${POLL_CONNECTIONS:=8} connections, every job Running)"
if ! command -v wrk >/dev/null; then
  echo "wrk is not installed: skipped"
  exit 0
fi
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
project=0123456789abcdef0123456789abcdef
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
listening_port() { until grep -q "Listening on" "$1"; do sleep 0.1; done; sed -n 's/.*address=127.0.0.1:\([0-9]*\).*/\1/p' "$1" | head -1; }

# Serves JOBS Running jobs of TASKS tasks each from a fresh simulator (extra simulator flags after them); sets
# sim_port and ids.
start_simulator() {
  local jobs=$1 task_count=$2 tasks id
  shift 2
  "$BUILD_DIR/ief_simulator" --web.listen-address=127.0.0.1:0 --project-id=$project --jobs=0 "$@" 2> "$work/sim.log" &
  sim_pid=$!
  sim_port=$(listening_port "$work/sim.log")
  tasks=$(for t in $(seq 1 "$task_count"); do printf '{"task_id":"task-%d","task_name":"t%d","target_id":"node-%d","status":"Running","created_at":1700000000},' "$t" "$t" "$t"; done)
  ids=""
  for j in $(seq 1 "$jobs"); do
    id="bench-job-$j"
    curl -s -X PUT --data "{\"job_id\":\"$id\",\"job_name\":\"bench-$j\",\"job_type\":\"node_upgrade\",\"status\":\"Running\",\"created_at\":1700000000,\"status_last_updated_at\":1700000000,\"task_total_count\":$task_count,\"tasks\":[${tasks%,}]}" \
      "http://127.0.0.1:$sim_port/sim/jobs/$id" > /dev/null
    ids="${ids:+$ids,}$id"
  done
}

# Polls every job flat out (0s interval, rate limit lifted) with --upstream.http-client=$1 for POLL_SECONDS;
# prints "requests/s cpu_us_per_request scrape_seconds".
exporter_polling() {
  cat > "$work/ief.yml" <<YAML
global: {poll_interval: 0s, request_timeout: 5s, max_concurrency: $POLL_CONNECTIONS, rate_limit: 1000000}
projects:
  - project_id: $project
    endpoint: http://127.0.0.1:$sim_port
    auth: {token: demo-token}
    jobs: [$ids]
YAML
  "$BUILD_DIR/ief_exporter" --config.file="$work/ief.yml" --web.listen-address=127.0.0.1:0 \
    --upstream.http-client="$1" 2> "$work/exporter.log" &
  local pid=$! port before after start end ticks_before ticks_after scrape_s
  port=$(listening_port "$work/exporter.log")
  count() { curl -s "http://127.0.0.1:$port/metrics" | sed -n "s/^ief_api_requests_total{code=\"200\",operation=\"show_job\",project_id=\"$project\"} \([0-9.e+]*\)/\1/p"; }
  until curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null; do sleep 0.1; done
  sleep 1
  before=$(count); ticks_before=$(cpu_ticks $pid); start=$(date +%s.%N)
  scrape_s=$(curl -s -o /dev/null -w "%{time_total}" "http://127.0.0.1:$port/metrics")  # during flat-out polling
  sleep "${POLL_SECONDS:-5}"
  after=$(count); ticks_after=$(cpu_ticks $pid); end=$(date +%s.%N)
  kill $pid; wait $pid 2>/dev/null || true
  echo "($after - $before) / ($end - $start)" | bc -l | awk -v t=$((ticks_after - ticks_before)) -v n="$after" -v b="$before" -v s="$scrape_s" \
    '{printf "%.0f %.0f %s\n", $1, t * 10000 / (n - b), s}'
}

# "JOBSxTASKS", or "JOBSxTASKS:vary" for answers that differ at every request (nothing can be skipped).
printf "%-16s %10s %12s %7s %16s %12s %7s %14s\n" "jobs x tasks" "wrk req/s" "builtin" ratio "cpu us/request" "libcurl" ratio "scrape during"
for scenario in ${POLL_SIZES:-2000x10 1000x100 1000x100:vary}; do
  size=${scenario%:vary}
  if [ "$scenario" != "$size" ]; then start_simulator "${size%x*}" "${size#*x}" --vary-answers
  else start_simulator "${size%x*}" "${size#*x}"; fi
  wrk_rps=$(wrk -t2 -c"$POLL_CONNECTIONS" -d5s -H "X-Auth-Token: demo-token" \
    "http://127.0.0.1:$sim_port/v2/$project/productmgr/jobs/bench-job-1" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
  read -r builtin_rps builtin_cpu scrape_s <<< "$(exporter_polling builtin)"
  read -r curl_rps _ _ <<< "$(exporter_polling curl)"
  printf "%-16s %10.0f %12s %7.2f %16s %12s %7.2f %12s s\n" "$scenario" "$wrk_rps" "$builtin_rps" \
    "$(echo "$builtin_rps / $wrk_rps" | bc -l)" "$builtin_cpu" "$curl_rps" "$(echo "$curl_rps / $wrk_rps" | bc -l)" "$scrape_s"
  kill $sim_pid; wait $sim_pid 2>/dev/null || true
done
