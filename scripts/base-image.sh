#!/usr/bin/env bash
# Makes the base images the Dockerfile starts from, debian:bookworm and debian:bookworm-slim, in the private
# container storage (scripts/container-env.sh): no registry is reachable here, so they are built the way
# Debian's official images are (debuerreotype): a debootstrap minbase rootfs from the Debian mirror this
# machine's apt uses, with the same apt/dpkg clean-up settings, imported with `podman import`.
# The rootfs tarballs are cached under build/container/base; delete them (or `make clean`) to refresh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/container-env.sh

SUITE=bookworm
BASE_DIR="$IEF_CONTAINER_DIR/base"
mkdir -p "$BASE_DIR"

# Prints "URI SUITE" for every enabled `deb` entry of the machine's apt sources, in both formats:
# one-line (sources.list, *.list: `deb [options] URI SUITE COMPONENTS...`) and deb822 (*.sources stanzas).
apt_source_entries() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && NF >= 3 { print $2, $3 }'
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # Stanzas are separated by blank lines; fields may be indented continuation lines (rare for these keys).
    awk '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && enabled != "no")
          for (u = 1; u <= nu; u++) for (s = 1; s <= ns; s++) print uris[u], suites[s]
        types = ""; enabled = ""; nu = 0; ns = 0
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      {
        key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ +/, "")
        if (key == "types") types = $0
        else if (key == "enabled") enabled = tolower($0)
        else if (key == "uris") nu = split($0, uris, " ")
        else if (key == "suites") ns = split($0, suites, " ")
      }
      END { flush() }' "$f"
  done
}

# The first URI serving the suite, e.g. `apt_mirror bookworm-security`.
apt_mirror() {
  apt_source_entries | awk -v suite="$1" '$2 == suite { print $1; exit }'
}

MIRROR="$(apt_mirror "$SUITE")"
SECURITY_MIRROR="$(apt_mirror "$SUITE-security")"
if [ -z "$MIRROR" ]; then
  echo "base-image: no '$SUITE' entry in this machine's apt sources" >&2
  exit 1
fi

# debootstrap once, then derive the full and slim rootfs tarballs from it.
make_rootfs() {
  local rootfs="$BASE_DIR/rootfs"
  rm -rf "$rootfs"
  echo "base-image: debootstrap --variant=minbase $SUITE from the machine's mirror (a few minutes)" >&2
  debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" > "$BASE_DIR/debootstrap.log" 2>&1 ||
    { tail -20 "$BASE_DIR/debootstrap.log" >&2; exit 1; }

  # The same suites as the official image: the release, its updates and, when the machine has it, security.
  rm -f "$rootfs/etc/apt/sources.list"
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: %s\n' \
      "$MIRROR" "$SUITE" "$SUITE" /usr/share/keyrings/debian-archive-keyring.gpg
    if [ -n "$SECURITY_MIRROR" ]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: %s\n' \
        "$SECURITY_MIRROR" "$SUITE" /usr/share/keyrings/debian-archive-keyring.gpg
    fi
  } > "$rootfs/etc/apt/sources.list.d/debian.sources"

  # The official images' apt and dpkg settings: no package cache, no kept .deb files, no translations,
  # compressed indexes, suggestions not kept by autoremove, no fsync while unpacking.
  local conf="$rootfs/etc/apt/apt.conf.d"
  cat > "$conf/docker-clean" <<'CONF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CONF
  echo 'Acquire::Languages "none";' > "$conf/docker-no-languages"
  printf 'Acquire::GzipIndexes "true";\nAcquire::CompressionTypes::Order:: "gz";\n' > "$conf/docker-gzip-indexes"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' > "$conf/docker-autoremove-suggests"
  echo 'force-unsafe-io' > "$rootfs/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
  chroot "$rootfs" apt-get clean
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log "$rootfs"/var/cache/debconf/*-old
  tar -C "$rootfs" --numeric-owner -cf "$BASE_DIR/$SUITE.tar" .

  # slim: what dpkg installs later skips documentation, man pages and translations, and they go now.
  cat > "$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'CONF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CONF
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$rootfs"/usr/share/{man,groff,info,lintian,linda}/*
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  tar -C "$rootfs" --numeric-owner -cf "$BASE_DIR/$SUITE-slim.tar" .
  rm -rf "$rootfs"
}

if [ ! -f "$BASE_DIR/$SUITE.tar" ] || [ ! -f "$BASE_DIR/$SUITE-slim.tar" ]; then
  make_rootfs
fi
for variant in "$SUITE" "$SUITE-slim"; do
  image="docker.io/library/debian:$variant"
  if ! podman image exists "$image"; then
    podman import --quiet --change 'CMD ["bash"]' "$BASE_DIR/$variant.tar" "$image" >/dev/null
  fi
done
echo "base-image: debian:$SUITE and debian:$SUITE-slim ready" >&2
