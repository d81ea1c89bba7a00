#!/usr/bin/env bash
# `make container-test`: every shipped artifact built and run here, without a Docker engine or a registry.
#   1. the image: built from the Dockerfile with buildah (Docker format), its config (numeric non-root user,
#      HEALTHCHECK, port, default command), its size; run with its default command (the demo): /metrics through
#      promtool, the HEALTHCHECK, the user it runs as, and a clean exit (code 0) on SIGTERM
#   2. docker-compose.yml's tls, simulator and exporter services, as the compose file runs them, in one pod: the
#      certificate made, the exporter serving HTTPS with it (its HEALTHCHECK too), ief_up 1
#   3. the Kubernetes StatefulSet's pod template with `podman kube play`: the shard derived from the pod
#      ordinal, the ConfigMap mounted and loaded, HTTPS with the certificate of the TLS Secret, the readiness and
#      liveness probes answering
#   4. the Debian package under a real systemd (PID 1 in a container made from the same base image): install
#      (the unit starts), the sandbox in force, the switch from the demo to a config, reload by
#      `systemctl reload` on a system without procps, HTTPS from /etc/ief_exporter/tls, purge (the user stays)
# Containers run with `--network none` (the pod's own loopback) and are reached with `podman exec`: no bridge
# network, no port on the host. Everything this run creates is removed on exit, also on failure, except the
# cache that keeps reruns fast: the base images and the build layers (tagged localhost/ief-exporter-cache), in
# the private storage under build/container (scripts/container-env.sh; `make clean` removes it).
# Needs: the packages of `scripts/install-deps.sh test container`, the built binaries and package (`make deb`).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR="${BUILD_DIR:-build}"
BUILD_DIR="$(realpath "$BUILD_DIR")"
source scripts/container-env.sh

run_id="ief-ct-$$"                       # prefix of every container, pod and tag this run makes
image="localhost/ief-exporter:$run_id"
systemd_image="localhost/ief-exporter-systemd:$run_id"
cache="localhost/ief-exporter-cache"     # kept between runs (see "image builds")
work="$(mktemp -d)"
npm_dir="$BUILD_DIR/tests/deploy/npm"
pause_images_before="$(podman images --quiet --filter reference='localhost/podman-pause' | sort)"

cleanup() {
  local status=$?
  set +e
  if [ "$status" -ne 0 ] && podman container exists "$run_id-systemd" 2>/dev/null; then
    echo "--- the unit's journal:" >&2
    podman exec "$run_id-systemd" journalctl --unit ief-exporter --no-pager --lines 30 >&2
  fi
  podman pod ls --quiet --filter name="^$run_id" | xargs -r podman pod rm --force >/dev/null 2>&1
  podman ps --all --quiet --filter name="^$run_id" | xargs -r podman rm --force --time 0 >/dev/null 2>&1
  podman volume ls --quiet --filter name="^$run_id" | xargs -r podman volume rm --force >/dev/null 2>&1
  podman rmi "$image" "$systemd_image" >/dev/null 2>&1  # only untags them once the cache tags exist
  # The pods' infra image, when this run made it.
  comm -13 <(echo "$pause_images_before") <(podman images --quiet --filter reference='localhost/podman-pause' | sort) |
    xargs -r podman rmi --force >/dev/null 2>&1
  # podman 4.3 logs an error for each healthcheck timer it cannot hand to systemd (there is none): harmless,
  # so its messages are kept aside and shown only when the test fails.
  [ "$status" -ne 0 ] && [ -s "$work/podman.log" ] && { echo "--- podman messages:"; cat "$work/podman.log"; } >&2
  rm -rf "$work"
  [ "$status" -eq 0 ] && echo "container-test: all passed" || echo "container-test: FAILED" >&2
  exit "$status"
}
trap cleanup EXIT

fail() { echo "container-test: FAIL: $*" >&2; exit 1; }
step_start=""
# Starts a step, after printing how long the previous one took.
step() {
  [ -n "$step_start" ] && echo "    ($((SECONDS - step_start)) s)"
  step_start=$SECONDS
  echo "== $*"
}

# Polls `podman exec CONTAINER CMD...` until it succeeds, for at most DEADLINE seconds.
exec_until() {
  local deadline=$((SECONDS + $1)) container="$2"
  shift 2
  until podman exec "$container" "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.5
  done
}
# The CA file (inside the container) of the containers that serve HTTPS; the others serve plain HTTP.
declare -A https_ca=()
# Prints an HTTP body fetched inside a container (its own loopback), over HTTPS with its CA when it has one.
http_get() {
  if [ -n "${https_ca[$1]:-}" ]; then
    podman exec "$1" curl -fsS --max-time 5 --cacert "${https_ca[$1]}" "https://127.0.0.1:$2$3"
  else
    podman exec "$1" curl -fsS --max-time 5 "http://127.0.0.1:$2$3"
  fi
}
# A throw-away CA and a server certificate for 127.0.0.1 signed by it, as DIR/ca.crt, DIR/tls.crt and
# DIR/tls.key (readable by the container's user).
make_tls() {
  mkdir -p "$1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=container-test CA" \
    -keyout "$1/ca.key" -out "$1/ca.crt" 2>/dev/null
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=ief-exporter" \
    -extensions v3_req -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -CA "$1/ca.crt" -CAkey "$1/ca.key" \
    -keyout "$1/tls.key" -out "$1/tls.crt" 2>/dev/null
  rm "$1/ca.key"
  chmod 0755 "$1" && chmod 0644 "$1"/*
}
# True when a line of CONTAINER's /metrics on PORT matches the extended regex. (Read whole first: under pipefail,
# `curl | grep -q` fails whenever grep stops reading before curl has written everything.)
metrics_match() {
  local metrics
  metrics="$(http_get "$1" "$2" /metrics 2>/dev/null)" && grep -qE "$3" <<<"$metrics"
}
# Polls CONTAINER's /metrics on PORT until a line matches the extended regex, for at most DEADLINE seconds.
metrics_until() {
  local deadline=$((SECONDS + $1)) container="$2" port="$3" pattern="$4"
  until metrics_match "$container" "$port" "$pattern"; do
    [ $SECONDS -lt $deadline ] || fail "$container: no metric line matching '$pattern' within $1 s"
    sleep 0.5
  done
}
# The exposition of CONTAINER on PORT through the real promtool.
promtool_check() {
  http_get "$1" "$2" /metrics > "$work/metrics"
  promtool check metrics < "$work/metrics" || fail "$1: promtool check metrics"
}

step "schema tools and base images"
tests/deploy/npm_ci.sh tests/deploy "$npm_dir" >/dev/null
inputs() { node tests/deploy/podman_inputs.mjs --modules "$npm_dir" "$@"; }
scripts/base-image.sh

step "image builds (buildah, Docker format)"
# Builds IMAGE from a Containerfile and a context, with the build-layer cache (--layers).
build_image() {
  local name="$1" started=$SECONDS
  shift
  buildah bud --isolation chroot --pull=never --layers --format docker --quiet -t "$name" "$@" > "$work/build.log" 2>&1 ||
    { tail -30 "$work/build.log" >&2; fail "build of $name"; }
  echo "    $name built in $((SECONDS - started)) s"
}
build_image "$image" .
# For the package test: systemd and the package's dependencies, so that the package installs with --network none.
deb="$(ls "$BUILD_DIR"/deb/ief-exporter_*_amd64.deb)"
depends="$(dpkg-deb --field "$deb" Depends | sed -e 's/([^)]*)//g' -e 's/,/ /g')"
build_image "$systemd_image" --build-arg "PACKAGES=$depends" -f tests/deploy/systemd.Containerfile tests/deploy
# The build cache of the next run: the layers of these builds, the Dockerfile's build stage included, held by
# the tags of $cache (removing this run's own tags then leaves them). Older layers go: vfs keeps a full copy of
# each, about 1.3 GB per build.
build_image "$cache:build-stage" --target build .
podman tag "$image" "$cache:image"
podman tag "$systemd_image" "$cache:systemd"
podman image prune --force >/dev/null

step "image config"
skopeo inspect --config --raw "containers-storage:$image" > "$work/config.json"
node - "$work/config.json" <<'EOF' || fail "image config"
const config = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8")).config;
const problems = [];
const [uid, gid] = String(config.User).split(":");
if (!/^[0-9]+$/.test(uid) || uid === "0" || !/^[0-9]+$/.test(gid ?? "")) problems.push(`USER is ${config.User}, not a numeric non-root uid:gid`);
if (!config.Healthcheck?.Test?.join(" ").includes("/-/healthy")) problems.push("no HEALTHCHECK on /-/healthy");
if (!config.ExposedPorts?.["10038/tcp"]) problems.push("port 10038 not exposed");
if (JSON.stringify(config.Cmd) !== '["--demo"]') problems.push(`default command is ${JSON.stringify(config.Cmd)}`);
if (!config.Volumes?.["/var/lib/ief-exporter"]) problems.push("no VOLUME /var/lib/ief-exporter (the rollout history's state)");
if (!(config.Entrypoint ?? []).includes("--storage.path=/var/lib/ief-exporter")) problems.push("the entrypoint does not keep the history's state in the volume");
if (problems.length) { console.error(problems.join("\n")); process.exit(1); }
console.log(`    USER ${config.User}, HEALTHCHECK ${config.Healthcheck.Test.slice(1).join(" ")}, CMD ${config.Cmd}`);
EOF
size=$(podman image inspect --format '{{.Size}}' "$image")
echo "    size $((size / 1000000)) MB"
[ "$size" -le 110000000 ] || fail "the image is $((size / 1000000)) MB, above 110 MB"

step "image, default command: the demo"
demo="$run_id-demo"
podman run --detach --name "$demo" --network none "$image" >/dev/null 2>>"$work/podman.log"
exec_until 60 "$demo" curl -fsS http://127.0.0.1:10038/-/ready || fail "$demo never became ready"
metrics_until 30 "$demo" 10038 '^ief_up\{project_id="[^"]*"\} 1$'
promtool_check "$demo" 10038
podman healthcheck run "$demo" 2>>"$work/podman.log" || fail "$demo: HEALTHCHECK failed"
exec_until 30 "$demo" test -s /var/lib/ief-exporter/history-shard-0.json || fail "$demo: no state file in the volume"
[ "$(podman exec "$demo" id -u)" = 10038 ] || fail "$demo runs as uid $(podman exec "$demo" id -u)"
podman exec "$demo" grep -qx '## IEFBatchJobFailed' /usr/share/doc/ief-exporter/alerts.md ||
  fail "$demo: no runbook where the alerts' runbook_url points"
podman stop --time 10 "$demo" >/dev/null 2>>"$work/podman.log"
exit_code=$(podman inspect --format '{{.State.ExitCode}}' "$demo")
[ "$exit_code" = 0 ] || fail "$demo exited with $exit_code after SIGTERM (137: it needed a SIGKILL)"
podman logs "$demo" 2>&1 | grep -q 'msg="Shutting down" signal=15' || fail "$demo did not log its SIGTERM shutdown"
echo "    ready, promtool clean, healthy, uid 10038, state in the volume, exit code 0 on SIGTERM"

step "docker-compose.yml: simulator + exporter in one pod"
docker-compose --file docker-compose.yml config --quiet || fail "docker-compose config"
pod="$run_id-compose"
# Compose resolves the service name `simulator`; in the pod both share one loopback. (podman 4.3 ignores
# --add-host on a pod without a network, hence a hosts file.)
podman pod create --name "$pod" --network none >/dev/null
echo "127.0.0.1 localhost simulator" > "$work/hosts"
# Runs a compose service's entrypoint, command, user and volumes in the pod. Named volumes get this run's prefix.
run_service() {
  local service="$1" entrypoint command volumes user options=()
  mapfile -t entrypoint < <(inputs compose-args docker-compose.yml "$service" entrypoint)
  mapfile -t command < <(inputs compose-args docker-compose.yml "$service" command)
  mapfile -t volumes < <(inputs compose-args docker-compose.yml "$service" volumes)
  mapfile -t user < <(inputs compose-args docker-compose.yml "$service" user)
  [ ${#entrypoint[@]} -gt 0 ] && options+=(--entrypoint "${entrypoint[0]}")  # one JSON line, podman's form
  [ ${#user[@]} -gt 0 ] && options+=(--user "${user[0]}")
  for volume in "${volumes[@]}"; do
    [[ "$volume" == /* ]] || volume="$run_id-$volume"
    options+=(--volume "$volume")
  done
  podman run --detach --pod "$pod" --name "$pod-$service" --volume "$work/hosts:/etc/hosts:ro" "${options[@]}" \
    "$image" "${command[@]}" >/dev/null 2>>"$work/podman.log"
}
# The tls service makes the certificate the exporter serves (the exporter waits for it to finish, as compose does).
run_service tls
[ "$(podman wait "$pod-tls")" = 0 ] || { podman logs "$pod-tls" >&2; fail "the tls service failed"; }
run_service simulator
run_service exporter
https_ca[$pod-exporter]=/etc/ief_exporter/tls/ca.crt
metrics_until 60 "$pod-exporter" 10038 '^ief_up\{project_id="demo0000000000000000000000000000"\} 1$'
metrics_until 30 "$pod-exporter" 10038 '^ief_batch_job_info\{'
promtool_check "$pod-exporter" 10038
podman exec "$pod-exporter" curl -fsS http://127.0.0.1:10038/-/healthy >/dev/null 2>&1 && fail "plain HTTP answered"
podman healthcheck run "$pod-exporter" 2>>"$work/podman.log" || fail "the image's HEALTHCHECK fails over HTTPS"
echo "    certificate made by the tls service, HTTPS with it, HEALTHCHECK passing, ief_up 1, jobs discovered"

step "Kubernetes: the StatefulSet's pod template (podman kube play)"
# The pod of ordinal 1, whose shard must come out as 1 of 3; a stand-in for the credentials Secret.
kube_pod="$run_id-ief-exporter-1"
mkdir -p "$work/secrets/ief-exporter-credentials"
echo "not-a-real-secret-key" > "$work/secrets/ief-exporter-credentials/secret_key"
make_tls "$work/secrets/ief-exporter-tls"  # what cert-manager would put in the Secret
mkdir -p "$work/secrets/claims/state" && chown 10038:10038 "$work/secrets/claims/state"  # the replica's volume
chmod -R a+rX "$work"
inputs kube-pod config/kubernetes/statefulset.yaml "$image" "$kube_pod" "$work/secrets" > "$work/pod.yaml"
podman kube play --network none "$work/pod.yaml" > "$work/kube.log" 2>&1 || { cat "$work/kube.log" >&2; fail "kube play"; }
kube_container="$kube_pod-ief-exporter"
https_ca[$kube_container]=/run/secrets/ief-tls/ca.crt
# readinessProbe and livenessProbe, as the kubelet would ask them (port resolved from the name by the conversion).
exec_until 60 "$kube_container" curl -fsS --cacert /run/secrets/ief-tls/ca.crt https://127.0.0.1:10038/-/ready ||
  fail "readiness probe never answered 200"
http_get "$kube_container" 10038 /-/healthy >/dev/null || fail "liveness probe"
podman healthcheck run "$kube_container" 2>>"$work/podman.log" || fail "the livenessProbe, as podman's healthcheck, failed"
http_get "$kube_container" 10038 /metrics > "$work/kube-metrics"
grep -qx 'ief_exporter_shard_ordinal 1' "$work/kube-metrics" || fail "shard not derived from the ordinal"
grep -qx 'ief_exporter_total_shards 3' "$work/kube-metrics" || fail "total shards"
exec_until 30 "$kube_container" test -s /var/lib/ief-exporter/history-shard-1.json ||
  fail "the replica keeps no state on its volume"
# The ConfigMap's project is tracked (its API is unreachable here: --network none).
grep -q '^ief_up{project_id="0123456789abcdef0123456789abcdef"}' "$work/kube-metrics" || fail "ConfigMap config not loaded"
[ "$(podman exec "$kube_container" id -u)" = 10038 ] || fail "the pod does not run as 10038"
podman exec "$kube_container" touch /probe-write 2>/dev/null && fail "the root filesystem is writable"
podman exec "$kube_container" grep -qE '^CapEff:\s+0+$' /proc/1/status || fail "the pod's process has capabilities"
podman pod rm --force "$kube_pod" >/dev/null 2>>"$work/podman.log"
echo "    shard 1 of 3, ConfigMap loaded, HTTPS from the Secret, probes answering, uid 10038, read-only root, no capabilities"

step "Debian package under systemd"
host="$run_id-systemd"
podman run --detach --name "$host" --systemd=always --cap-add SYS_ADMIN --network none "$systemd_image" >/dev/null
exec_until 60 "$host" sh -c 'systemctl is-system-running | grep -qE "^(running|degraded)$"' ||
  fail "systemd did not finish booting"
podman exec "$host" sh -c '! dpkg -s procps >/dev/null 2>&1 && ! test -e /bin/kill && ! test -e /usr/bin/kill' ||
  fail "procps is installed: ExecReload would not be tested on a minimal system"
podman cp "$deb" "$host:/tmp/ief-exporter.deb"
podman cp "$BUILD_DIR/ief_simulator" "$host:/usr/local/bin/ief_simulator"
in_host() { podman exec "$host" "$@"; }

# Install: postinst makes the user, enables and starts the unit, which serves the exporter's own metrics with the
# packaged config (no project yet).
in_host dpkg --install /tmp/ief-exporter.deb > "$work/install.log" 2>&1 || { cat "$work/install.log" >&2; fail "install"; }
exec_until 30 "$host" systemctl is-active --quiet ief-exporter || { in_host systemctl status ief-exporter >&2; fail "unit not active"; }
[ "$(in_host systemctl is-enabled ief-exporter)" = enabled ] || fail "unit not enabled"
in_host getent passwd ief-exporter >/dev/null || fail "no ief-exporter user"
[ "$(in_host stat -c '%a %U:%G' /etc/ief_exporter)" = "750 root:ief-exporter" ] || fail "/etc/ief_exporter owner or mode"
metrics_until 30 "$host" 10038 '^ief_exporter_config_last_reload_successful 1$'
promtool_check "$host" 10038
in_host systemd-analyze verify --man=no ief-exporter.service 2> "$work/verify" && [ ! -s "$work/verify" ] ||
  { cat "$work/verify" >&2; fail "systemd-analyze verify of the installed unit"; }
# The sandbox is in force: no capabilities, no new privileges, the service's own user.
main_pid="$(in_host systemctl show --property MainPID --value ief-exporter)"
in_host cat "/proc/$main_pid/status" > "$work/status"
grep -qE '^CapEff:\s+0+$' "$work/status" || fail "the service has capabilities: $(grep CapEff "$work/status")"
grep -qE '^NoNewPrivs:\s+1$' "$work/status" || fail "NoNewPrivileges not in force"
[ "$(in_host stat -c %U "/proc/$main_pid")" = ief-exporter ] || fail "the service does not run as ief-exporter"
echo "    installed: active, enabled, no project yet, no capabilities, $(in_host systemd-analyze security ief-exporter.service 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: //p')"

# What the operator does next (see /etc/default/ief-exporter): a config, then systemctl reload.
in_host systemd-run --unit ief-simulator --quiet /usr/local/bin/ief_simulator --web.listen-address=127.0.0.1:18080 --jobs=3
exec_until 30 "$host" curl -fsS http://127.0.0.1:18080/sim/jobs || fail "the simulator did not start"
# Writes the exporter's config: the simulator's project, with discovery, or with one listed job (ARG: its id).
write_config() {
  local tracking='discovery: {enabled: true}'
  [ -n "${1:-}" ] && tracking="jobs: [$1]"
  podman exec --interactive "$host" sh -c "cat > /etc/ief_exporter/ief_exporter.yml" <<EOF
global:
  poll_interval: 2s
projects:
  - project_id: demo0000000000000000000000000000
    endpoint: http://127.0.0.1:18080
    auth: {token: demo-token}
    $tracking
EOF
}
pid_installed="$(in_host systemctl show --property MainPID --value ief-exporter)"
write_config
in_host systemctl reload ief-exporter || fail "systemctl reload"
metrics_until 30 "$host" 10038 '^ief_tracked_jobs\{project_id="demo0000000000000000000000000000",source="discovery",phase="[a-z]+"\} [1-9]'
metrics_until 30 "$host" 10038 '^ief_up\{project_id="demo0000000000000000000000000000"\} 1$'
pid_before="$(in_host systemctl show --property MainPID --value ief-exporter)"
[ "$pid_before" = "$pid_installed" ] || fail "the first reload restarted the service"

# Reload: SIGHUP through ExecReload (dash's kill: no procps here). The new config lists one job instead of
# discovering them, which the tracked-jobs gauge shows; the process stays the same.
sim_jobs="$(in_host curl -fsS http://127.0.0.1:18080/sim/jobs)" || fail "the simulator's job list"
[[ "$sim_jobs" =~ [0-9a-f]{8}-[0-9a-f-]{27} ]] || fail "no job id from the simulator"
job_id="${BASH_REMATCH[0]}"
write_config "$job_id"
in_host systemctl reload ief-exporter || fail "systemctl reload"
metrics_until 20 "$host" 10038 '^ief_tracked_jobs\{project_id="demo0000000000000000000000000000",source="config",phase="[a-z]+"\} 1$'
metrics_match "$host" 10038 '^ief_tracked_jobs\{[^}]*source="discovery"[^}]*\} [1-9]' &&
  fail "discovered jobs still tracked after the reload"
metrics_until 10 "$host" 10038 '^ief_exporter_config_last_reload_successful 1$'
[ "$(in_host systemctl show --property MainPID --value ief-exporter)" = "$pid_before" ] || fail "reload restarted the service"
echo "    configured: ief_up 1 from the simulator; systemctl reload re-read the config (same PID $pid_before)"

# History across a restart: the unit keeps its state in /var/lib/ief-exporter (StateDirectory). Four jobs of a type
# the simulator never generates ("other" on the counters): two fail while the service runs, two while it is stopped;
# the counters, added up across the restart as Prometheus adds them, say four.
write_config
in_host systemctl reload ief-exporter || fail "systemctl reload"
put_job() {  # ID STATUS
  local now
  now="$(in_host date +%s)"
  in_host curl -fsS -X PUT --data "{\"job_id\":\"$1\",\"job_name\":\"$1\",\"job_type\":\"firmware\",\"status\":\"$2\",\"created_at\":$((now - 100)),\"status_last_updated_at\":$now,\"tasks\":[]}" \
    "http://127.0.0.1:18080/sim/jobs/$1" >/dev/null || fail "PUT $1"
}
for i in 1 2 3 4; do put_job "rollout-$i" Running; done
metrics_until 30 "$host" 10038 '^ief_batch_job_status\{project_id="demo0000000000000000000000000000",job_id="rollout-4",status="Running"\} 1$'
put_job rollout-1 Failed
put_job rollout-2 Failed
failed='^ief_batch_jobs_finished_total\{job_type="other",project_id="demo0000000000000000000000000000",status="Failed"\}'
metrics_until 30 "$host" 10038 "$failed 2$"
in_host systemctl stop ief-exporter || fail "systemctl stop"
put_job rollout-3 Failed
put_job rollout-4 Failed
in_host systemctl start ief-exporter || fail "systemctl start"
metrics_until 30 "$host" 10038 "$failed 2$"  # the two that failed while it was stopped
sleep 5  # a few more poll rounds: still two (the two from before the restart are not counted again)
metrics_match "$host" 10038 "$failed 2$" || fail "the restart counted finishes twice or lost them"
[ "$(in_host stat -c '%U %a' /var/lib/ief-exporter)" = "ief-exporter 700" ] || fail "state directory owner or mode"
in_host test -s /var/lib/ief-exporter/history-shard-0.json || fail "no state file in /var/lib/ief-exporter"
echo "    history: 2 + 2 finishes across systemctl stop/start, state in /var/lib/ief-exporter"

# HTTPS as /etc/default/ief-exporter describes it: certificate and key in /etc/ief_exporter/tls (group
# ief-exporter, 0640), a web config naming them, ARGS, a restart. The sandboxed service can read them.
make_tls "$work/package-tls"
in_host mkdir -p /etc/ief_exporter/tls
for file in ca.crt tls.crt tls.key; do podman cp "$work/package-tls/$file" "$host:/etc/ief_exporter/tls/$file"; done
in_host sh -c 'chown -R root:ief-exporter /etc/ief_exporter/tls && chmod 0750 /etc/ief_exporter/tls &&
  chmod 0640 /etc/ief_exporter/tls/* &&
  printf "tls_server_config:\n  cert_file: tls/tls.crt\n  key_file: tls/tls.key\n" > /etc/ief_exporter/web.yml &&
  chown root:ief-exporter /etc/ief_exporter/web.yml && chmod 0640 /etc/ief_exporter/web.yml &&
  sed -i "s|^ARGS=.*|ARGS=\"--web.config.file=/etc/ief_exporter/web.yml\"|" /etc/default/ief-exporter'
in_host systemctl restart ief-exporter || fail "restart with TLS"
https_ca[$host]=/etc/ief_exporter/tls/ca.crt
metrics_until 30 "$host" 10038 '^ief_exporter_tls_certificate_reload_errors_total 0$'
pid_before="$(in_host systemctl show --property MainPID --value ief-exporter)"
echo "    HTTPS with the certificate in /etc/ief_exporter/tls"

# Purge: the service stops and its files go; the user stays, as with Debian's exporters. (The certificate and web
# config are the operator's own, which dpkg does not remove: the operator removes them.)
in_host rm -r /etc/ief_exporter/tls /etc/ief_exporter/web.yml
in_host dpkg --purge ief-exporter > "$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; fail "purge"; }
in_host systemctl is-active --quiet ief-exporter && fail "the unit still runs after purge"
in_host test ! -e "/proc/$pid_before" || fail "the exporter process outlived the purge"
for path in /usr/bin/ief_exporter /lib/systemd/system/ief-exporter.service /etc/default/ief-exporter /etc/ief_exporter \
            /var/lib/ief-exporter; do
  in_host test ! -e "$path" || fail "$path left after purge"
done
in_host getent passwd ief-exporter >/dev/null || fail "purge removed the ief-exporter user"
echo "    purged: stopped, files gone, user kept"
step "done in $SECONDS s"
