# Sourced by the container scripts: podman, buildah and skopeo with a private storage under $IEF_CONTAINER_DIR
# (default build/container) and the settings that work on these machines (see README "Container"):
#   vfs storage (overlay does not work here), runc with cgroupfs and fixed ulimits (crun cannot set
#   RLIMIT_NOFILE here), and a file event log (no systemd journal for podman to write to).
# The storage is the cache between runs (base images, build layers); `make clean` removes it with build/.
IEF_CONTAINER_DIR="${IEF_CONTAINER_DIR:-$PWD/build/container}"
mkdir -p "$IEF_CONTAINER_DIR"
IEF_CONTAINER_DIR="$(cd "$IEF_CONTAINER_DIR" && pwd)"
# Run-time state (locks, conmon sockets) belongs on tmpfs, under a path short enough for socket names.
IEF_CONTAINER_RUNROOT="/run/ief-ct-$(printf '%s' "$IEF_CONTAINER_DIR" | md5sum | cut -c1-8)"

cat > "$IEF_CONTAINER_DIR/storage.conf" <<CONF
[storage]
driver = "vfs"
graphroot = "$IEF_CONTAINER_DIR/storage"
runroot = "$IEF_CONTAINER_RUNROOT/storage"
CONF
cat > "$IEF_CONTAINER_DIR/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$IEF_CONTAINER_RUNROOT/libpod"
CONF
export CONTAINERS_STORAGE_CONF="$IEF_CONTAINER_DIR/storage.conf"
export CONTAINERS_CONF="$IEF_CONTAINER_DIR/containers.conf"
