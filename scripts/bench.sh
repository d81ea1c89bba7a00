#!/usr/bin/env bash
# Benchmarks, each side against its baseline in the same run (see docs/performance.md for figures and method):
#   1. micro: parse throughput of a 1,000-task ShowBatchJob answer, rendering one job, assembling a scrape;
#   2. scrape: ief_exporter's way vs CivetWeb serving the same bytes as a static file, and vs a plain prometheus-cpp
#      Family/Registry exporter holding the identical series, each in its own process, scraped over HTTP on
#      127.0.0.1, plain and gzip; prints ratios and the exporter's resident memory;
#   3. scaling: the exporter and the static file from 10 to 10,000 jobs of 100 tasks and one job of 10,000 tasks.
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
"$bench/micro_bench" --benchmark-samples 10 | grep -E "^(parse|render|assemble|inflate|jobs|x )|parse_throughput|^ +[0-9.]+ (ms|us|s) " || true
fi

# One line of figures from a side of the comparison: scrape SIDE JOBS TASKS REPEATS ENCODING
scrape() {
  case "$1" in
    exporter) "$bench/scrape_compare" exporter "${@:2}" ;;
    static) "$bench/scrape_compare_static" static "${@:2}" ;;
    baseline) "$bench/scrape_compare_baseline" baseline "${@:2}" ;;
  esac
}
ratio() { echo "$1 / $2" | bc -l | xargs printf "%.2f"; }

if want scrape; then
echo
echo "== scrape of ${JOBS} jobs x ${TASKS} tasks over HTTP (median of 5): the exporter, CivetWeb serving the same"
echo "   bytes as a static file (targets: gzip within 3x, plain within 5x) and prometheus-cpp's Family/Registry"
printf "%-8s %12s %10s %8s %12s %8s\n" encoding "exporter ms" "static ms" ratio "baseline ms" ratio
for encoding in plain gzip; do
  e=$(scrape exporter "$JOBS" "$TASKS" 5 "$encoding")
  s=$(scrape static "$JOBS" "$TASKS" 5 "$encoding")
  b=$(scrape baseline "$JOBS" "$TASKS" 5 "$encoding")
  ems=$(echo "$e" | field scrape_ms); sms=$(echo "$s" | field scrape_ms); bms=$(echo "$b" | field scrape_ms)
  printf "%-8s %12s %10s %8s %12s %8s\n" "$encoding" "$ems" "$sms" "$(ratio "$ems" "$sms")" "$bms" "$(ratio "$ems" "$bms")"
done
echo "resident MB (exporter, gzip run): highest while rendering every job $(echo "$e" | field fill_peak_mb), after it"\
  "$(echo "$e" | field fill_rss_mb), after the first scrape $(echo "$e" | field rss_mb), after 20 scrapes"\
  "$(echo "$e" | field rss20_mb), highest $(echo "$e" | field peak_rss_mb); prometheus-cpp baseline $(echo "$b" | field rss_mb)"
bytes_per_task=$(echo "$e" | field rss20_mb | awk -v n=$((JOBS * TASKS)) '{printf "%.0f", $1 * 1048576 / n}')
echo "exporter resident bytes per tracked task: ${bytes_per_task}"
fi

if want scaling; then
echo
echo "== scaling (median of 3 scrapes): exporter and static file, resident memory after 20 scrapes and highest,"
echo "   fill: seconds to render every job (the first full view)"
printf "%14s %9s %9s %9s %9s %8s %9s %8s %7s\n" "jobs x tasks" "plain ms" "static" "gzip ms" "static" "RSS MB" \
  "fill peak" "peak MB" "fill s"
for size in 10x100 100x100 1000x100 10000x100 1x10000; do
  n=${size%x*}; t=${size#*x}
  p=$(scrape exporter "$n" "$t" 3 plain); sp=$(scrape static "$n" "$t" 3 plain)
  g=$(scrape exporter "$n" "$t" 3 gzip); sg=$(scrape static "$n" "$t" 3 gzip)
  printf "%14s %9s %9s %9s %9s %8s %9s %8s %7s\n" "$size" "$(echo "$p" | field scrape_ms)" "$(echo "$sp" | field scrape_ms)" \
    "$(echo "$g" | field scrape_ms)" "$(echo "$sg" | field scrape_ms)" "$(echo "$g" | field rss20_mb)" \
    "$(echo "$g" | field fill_peak_mb)" "$(echo "$g" | field peak_rss_mb)" "$(echo "$g" | field fill_s)"
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
