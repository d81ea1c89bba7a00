#!/usr/bin/env bash
# Benchmarks, each side against its baseline in the same run (see docs/performance.md for figures and method):
#   1. micro: parse throughput of a 1,000-task ShowBatchJob answer, rendering one job, assembling a scrape;
#   2. scrape: ief_exporter's way vs a plain prometheus-cpp Family/Registry exporter holding the identical series,
#      each in its own process, scraped over HTTP on 127.0.0.1, plain and gzip; prints ratios;
#   3. scaling: the exporter from 10 to 10,000 jobs.
#   4. polling: the exporter's request rate against a simulator vs wrk's on the same endpoint.
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
echo "== polling rate vs wrk on the same simulator endpoint (${POLL_JOBS:=2000} active jobs, ${POLL_CONNECTIONS:=8} connections)"
if ! command -v wrk >/dev/null; then
  echo "wrk is not installed: skipped"
  exit 0
fi
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
project=0123456789abcdef0123456789abcdef
"$BUILD_DIR/ief_simulator" --web.listen-address=127.0.0.1:0 --project-id=$project --jobs=0 2> "$work/sim.log" &
until grep -q "Listening on" "$work/sim.log"; do sleep 0.1; done
sim_port=$(sed -n 's/.*address=127.0.0.1:\([0-9]*\).*/\1/p' "$work/sim.log" | head -1)
# Every job Running with 10 tasks, so every round fetches every job.
tasks=$(for t in $(seq 1 10); do printf '{"task_id":"task-%d","task_name":"t%d","target_id":"node-%d","status":"Running","created_at":1700000000},' "$t" "$t" "$t"; done)
ids=""
for j in $(seq 1 "$POLL_JOBS"); do
  id="bench-job-$j"
  curl -s -X PUT --data "{\"job_id\":\"$id\",\"job_name\":\"bench-$j\",\"job_type\":\"node_upgrade\",\"status\":\"Running\",\"created_at\":1700000000,\"status_last_updated_at\":1700000000,\"task_total_count\":10,\"tasks\":[${tasks%,}]}" \
    "http://127.0.0.1:$sim_port/sim/jobs/$id" > /dev/null
  ids="${ids:+$ids,}$id"
done
first=bench-job-1
wrk_rps=$(wrk -t2 -c"$POLL_CONNECTIONS" -d5s -H "X-Auth-Token: demo-token" \
  "http://127.0.0.1:$sim_port/v2/$project/productmgr/jobs/$first" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
cat > "$work/ief.yml" <<YAML
global: {poll_interval: 100ms, request_timeout: 5s, max_concurrency: $POLL_CONNECTIONS, rate_limit: 1000000}
projects:
  - project_id: $project
    endpoint: http://127.0.0.1:$sim_port
    auth: {token: demo-token}
    jobs: [$ids]
YAML
"$BUILD_DIR/ief_exporter" --config.file="$work/ief.yml" --web.listen-address=127.0.0.1:0 2> "$work/exporter.log" &
until grep -q "Listening on" "$work/exporter.log"; do sleep 0.1; done
exporter_port=$(sed -n 's/.*address=127.0.0.1:\([0-9]*\).*/\1/p' "$work/exporter.log" | head -1)
count() { curl -s "http://127.0.0.1:$exporter_port/metrics" | sed -n "s/^ief_api_requests_total{code=\"200\",operation=\"show_job\",project_id=\"$project\"} \([0-9.e+]*\)/\1/p"; }
until curl -sf "http://127.0.0.1:$exporter_port/-/ready" >/dev/null; do sleep 0.1; done
sleep 1
before=$(count); start=$(date +%s.%N)
scrape_s=$(curl -s -o /dev/null -w "%{time_total}" "http://127.0.0.1:$exporter_port/metrics")  # during flat-out polling
sleep "${POLL_SECONDS:-5}"
after=$(count); end=$(date +%s.%N)
poll_rps=$(echo "($after - $before) / ($end - $start)" | bc -l)
printf "wrk: %.0f req/s   exporter polling: %.0f req/s   ratio: %.2f   scrape during polling: %s s\n" \
  "$wrk_rps" "$poll_rps" "$(echo "$poll_rps / $wrk_rps" | bc -l)" "$scrape_s"
curl -s "http://127.0.0.1:$exporter_port/metrics" | grep -E "^ief_poll_round(s_overrun_total|_duration_seconds)"
