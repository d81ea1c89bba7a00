#!/usr/bin/env bash
# Packages an ief_exporter binary as OUT_DIR/ief-exporter_<version>_amd64.deb (CPack, packaging/CMakeLists.txt)
# and prints the package's path. `make deb` and the package tests of `make test` both call it.
# Usage: packaging/build-deb.sh BINARY OUT_DIR
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 BINARY OUT_DIR" >&2
  exit 2
fi
source_dir="$(cd "$(dirname "$0")" && pwd)"
binary="$(realpath "$1")"
out_dir="$2"

mkdir -p "$out_dir"
rm -f "$out_dir"/ief-exporter_*.deb  # exactly one package in OUT_DIR afterwards
cmake -S "$source_dir" -B "$out_dir" -DIEF_EXPORTER_BIN="$binary" > "$out_dir/configure.log" ||
  { cat "$out_dir/configure.log" >&2; exit 1; }
(cd "$out_dir" && cpack > cpack.log 2>&1) || { cat "$out_dir/cpack.log" >&2; exit 1; }
ls "$out_dir"/ief-exporter_*_amd64.deb
