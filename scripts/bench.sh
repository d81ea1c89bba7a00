#!/usr/bin/env bash
# Benchmarks, each side against its baseline in the same run (see docs/performance.md for figures and method):
#   1. micro: parse throughput of a 1,000-task ShowBatchJob answer, rendering one job, assembling a scrape;
#   2. scrape: ief_exporter's way vs a plain prometheus-cpp Family/Registry exporter holding the identical series,
#      each in its own process, scraped over HTTP on 127.0.0.1, plain and gzip; prints ratios;
#   3. scaling: the exporter from 10 to 10,000 jobs.
#   4. freshness: how soon a change upstream shows on /metrics and what it costs in API calls, against a simulator
#      throttling like Huawei's API gateway: 1,000 discovered jobs (200 Running), a change every 2 s for a minute,
#      a 2 s interval, list-driven vs every active job every round (active_refresh_interval 0s), and a gateway
#      throttling at 2 requests/s while rate_limit stays 20; then a long-lived tenant (30 Running jobs above
#      9,970 finished ones) walked from the head of the list vs in full every round (FRESHNESS_STEADY=1 adds a row
#      measured after the start-up fill).
# BENCH_JOBS / BENCH_TASKS set the comparison size (default 1000 x 100); BENCH_SECTIONS picks sections.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
JOBS="${BENCH_JOBS:-1000}"
TASKS="${BENCH_TASKS:-100}"
bench="$BUILD_DIR/tests/bench"

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
want() { [[ " ${BENCH_SECTIONS:-micro scrape scaling freshness} " == *" $1 "* ]]; }

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
  b=$("$bench/scrape_compare_baseline" baseline "$JOBS" "$TASKS" 5 "$encoding")
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

want freshness || exit 0
echo
echo "== freshness against a throttling gateway: 1,000 discovered jobs (200 Running), a change every 2 s, 2 s interval"
echo "   status/details: seconds from start until every job showed its status / had its details (-1: not waited for)"
echo "   API req/s and detail calls per change over the change window; 429: share of requests refused by the gateway"
fresh="$bench/freshness_bench"
"$fresh" --header 1 --fill 0 --label "list-driven (quota 20/s)"
"$fresh" --fill 0 --refresh 0s --label "every active job, every round"
"$fresh" --fill 0 --throttle 2 --changes 60 --quiet-seconds 60 --label "gateway at 2/s, rate_limit 20"
echo "   a long-lived tenant: 30 Running jobs above 9,970 that finished a month ago, 5 s interval, every third change a new job"
long_history=(--fill 0 --jobs 30 --running 30 --history 9970 --interval 5s --new-jobs 1)
"$fresh" "${long_history[@]}" --label "long history, head walks"
"$fresh" "${long_history[@]}" --full-walk-interval 0s --label "long history, full walks (before)"
if [ "${FRESHNESS_STEADY:-0}" = 1 ]; then
  "$fresh" --fill 1 --label "list-driven, after the fill"
fi
