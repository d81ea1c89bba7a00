#!/usr/bin/env bash
# Installs the Debian bookworm packages ief_exporter needs to build, test and run.
# Idempotent: packages already present are skipped, so `make` stays fast on a prepared machine.
set -euo pipefail

BUILD_PACKAGES=(
  cmake g++ make pkg-config git ca-certificates
  prometheus-cpp-dev libcivetweb-dev libcurl4-openssl-dev libyaml-cpp-dev
  libsimdjson-dev nlohmann-json3-dev libcli11-dev libssl-dev libcrypt-dev zlib1g-dev
)
# catch2: unit tests; prometheus: promtool for the exposition checks; clang + its runtime: libFuzzer targets;
# stunnel4 + openssl: the README's TLS-termination recipe is tested for real; prometheus-alertmanager: the
# real-stack test; bc and wrk: the benchmark script's ratios and its polling baseline.
TEST_PACKAGES=(catch2 prometheus prometheus-alertmanager curl clang libclang-rt-14-dev stunnel4 openssl bc wrk)

missing=()
for pkg in "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
