#!/usr/bin/env bash
# Installs the Debian bookworm packages ief_exporter needs, by group:
#   build      compile ief_exporter and ief_simulator (the Dockerfile's build stage installs only these)
#   unit       build + run the unit tests (`make unit`, the contributor's fast path): Catch2 and the openssl command
#   test       run `make test` (includes unit): unit and integration tests, the real Prometheus stack, the benchmarks and the
#              deployment checks (package lint, unit verification, schema checks)
#   container  build and run images without a Docker engine (`make container-test`)
# No argument means `build test`: what `make` and `make test` need on a bare machine.
# Idempotent: packages already present are skipped, so `make` stays fast on a prepared machine.
set -euo pipefail

# The HTTP server, CivetWeb, is built from third_party/civetweb (with OpenSSL 3 and IPv6): no libcivetweb-dev.
# prometheus-cpp-dev still pulls Debian's in for its pull library, which nothing here links.
BUILD_PACKAGES=(
  cmake g++ make pkg-config git ca-certificates
  prometheus-cpp-dev libcurl4-openssl-dev libyaml-cpp-dev
  libsimdjson-dev nlohmann-json3-dev libcli11-dev libssl-dev libcrypt-dev zlib1g-dev
)
# catch2: the unit tests' framework; openssl: the unit tests' throw-away certificates and s_client.
UNIT_PACKAGES=(catch2 openssl)
# prometheus: promtool for the exposition checks and the real Prometheus of the real-stack and HTTPS tests;
# clang + its runtime: libFuzzer targets and the thread-safety build (`make thread-safety`); curl and sslscan: the HTTPS endpoint is checked with real clients and a TLS scanner; prometheus-alertmanager: the
# real-stack test; bc: the benchmark script's ratios; dpkg-dev (dpkg-shlibdeps),
# lintian and systemd (systemd-analyze): the Debian package and its unit; docker-compose: `config -q` of the
# compose file; chromium: the landing page is loaded and screenshotted in a real (headless) browser. Node.js and
# npm run the Kubernetes and Grafana schema checks (see below).
TEST_PACKAGES=(prometheus prometheus-alertmanager curl clang libclang-rt-14-dev sslscan bc
               dpkg-dev lintian systemd docker-compose chromium)
# buildah builds the Dockerfile, podman runs the images, skopeo reads their config; debootstrap makes the base
# images (scripts/base-image.sh); runc (crun fails here), conmon, catatonit and the CNI plugins are what
# podman runs containers and pods with.
CONTAINER_PACKAGES=(buildah podman skopeo debootstrap runc conmon catatonit containernetworking-plugins
                    golang-github-containers-common uidmap)

groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(build test)
wanted=()
for group in "${groups[@]}"; do
  case "$group" in
    build) wanted+=("${BUILD_PACKAGES[@]}") ;;
    unit) wanted+=("${UNIT_PACKAGES[@]}") ;;
    test)
      wanted+=("${UNIT_PACKAGES[@]}" "${TEST_PACKAGES[@]}")
      # A machine may already have Node.js from elsewhere, whose npm would conflict with Debian's npm package.
      command -v npm >/dev/null || wanted+=(nodejs npm)
      ;;
    container) wanted+=("${CONTAINER_PACKAGES[@]}") ;;
    *) echo "install-deps: unknown group '$group' (build, unit, test, container)" >&2; exit 2 ;;
  esac
done

missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
