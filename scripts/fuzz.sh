#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz/ and runs each for FUZZ_SECONDS
# (default 30) on a working corpus seeded from tests/fuzz/corpus and the ShowBatchJob example. Any crash, leak
# or sanitizer report fails the run; the crashing input is left in build-fuzz/ for replay.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${FUZZ_SECONDS:-30}"
BUILD_DIR="${FUZZ_BUILD_DIR:-build-fuzz}"

CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Debug -DIEF_FUZZ=ON -DIEF_WERROR=ON >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target job_parser_fuzz list_parser_fuzz config_fuzz history_file_fuzz

for target in job_parser list_parser config history_file; do
  seeds=tests/fuzz/corpus/${target%_parser}
  seeds=${seeds%_file}
  corpus="$BUILD_DIR/corpus/$target"
  mkdir -p "$corpus"
  cp "$seeds"/* "$corpus"/
  [ "$target" = job_parser ] && cp tests/fixtures/show_batch_job_seed.json "$corpus/seed_example.json"
  echo "fuzz: $target for ${SECONDS_PER_TARGET}s"
  (cd "$BUILD_DIR" && "./tests/fuzz/${target}_fuzz" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 "corpus/$target" 2>&1 | tail -n 12)  # pipefail: a finding fails
done
echo "fuzz: all targets ran ${SECONDS_PER_TARGET}s without a finding"
