#!/usr/bin/env bash
# Checks of the packaged systemd unit that need no systemd running:
#   unit_check.sh verify UNIT BINARY   `systemd-analyze verify` of the unit with its ExecStart binary replaced by
#                                      BINARY (the built one: /usr/bin/ief_exporter exists only once installed).
#                                      systemd-analyze exits 0 on unknown keys and typos, so any output on
#                                      stderr fails the check too.
#   unit_check.sh security UNIT MAX    `systemd-analyze security --offline` exposure score at most MAX (e.g. 2.0)
set -euo pipefail
mode="$1"
unit="$2"

case "$mode" in
  verify)
    binary="$(realpath "$3")"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    sed "s|/usr/bin/ief_exporter|$binary|" "$unit" > "$work/$(basename "$unit")"
    if ! systemd-analyze verify --man=no "$work/$(basename "$unit")" 2> "$work/stderr" || [ -s "$work/stderr" ]; then
      echo "unit_check: systemd-analyze verify reports problems in $unit:" >&2
      cat "$work/stderr" >&2
      exit 1
    fi
    echo "unit_check: $unit verified"
    ;;
  security)
    max="$3"
    report="$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1)" || true
    # "→ Overall exposure level for ief-exporter.service: 1.2 OK 🙂"
    score="$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<< "$report")"
    if [ -z "$score" ]; then
      echo "unit_check: no exposure level in the report:" >&2
      echo "$report" >&2
      exit 1
    fi
    if awk -v s="$score" -v m="$max" 'BEGIN { exit !(s > m) }'; then
      grep '✗' <<< "$report" >&2 || true
      echo "unit_check: exposure level $score is above $max" >&2
      exit 1
    fi
    echo "unit_check: exposure level $score (at most $max)"
    ;;
  *)
    echo "usage: $0 verify UNIT BINARY | security UNIT MAX" >&2
    exit 2
    ;;
esac
