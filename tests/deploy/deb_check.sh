#!/usr/bin/env bash
# Checks a built ief-exporter .deb without installing it: lintian with no error and no warning, the files where
# Debian's exporter packages put them, the conffiles, and the maintainer scripts' shell syntax.
# Usage: deb_check.sh DEB
set -euo pipefail
deb="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=0
fail() { echo "deb_check: $*" >&2; status=1; }

# lintian warns that it runs as root; only its tags matter.
if ! lintian --fail-on error,warning --no-tag-display-limit "$deb" > "$work/lintian" 2>&1; then
  fail "lintian:"; grep -v 'running with root privileges' "$work/lintian" >&2
fi

dpkg-deb --contents "$deb" | awk '{ print $1, $6 }' > "$work/contents"
for entry in "-rwxr-xr-x ./usr/bin/ief_exporter" "-rw-r--r-- ./lib/systemd/system/ief-exporter.service" \
             "-rw-r--r-- ./etc/default/ief-exporter" "-rw-r--r-- ./etc/ief_exporter/ief_exporter.yml" \
             "-rw-r--r-- ./usr/share/doc/ief-exporter/copyright" "-rw-r--r-- ./usr/share/man/man1/ief_exporter.1.gz" \
             "-rw-r--r-- ./usr/share/doc/ief-exporter/web.example.yml.gz" \
             "-rw-r--r-- ./usr/share/doc/ief-exporter/alerts.md"; do
  grep -qxF -- "$entry" "$work/contents" || fail "missing from the package: $entry"
done

dpkg-deb --control "$deb" "$work/control"
printf '/etc/default/ief-exporter\n/etc/ief_exporter/ief_exporter.yml\n' | diff - "$work/control/conffiles" ||
  fail "conffiles differ from the expected list"
grep -q '^Depends:.*\badduser\b' "$work/control/control" || fail "Depends lacks adduser (postinst calls it)"
# CivetWeb is built into the binary (third_party/civetweb, with OpenSSL 3): no second copy from Debian.
grep -q '^Depends:.*civetweb' "$work/control/control" && fail "Depends names a CivetWeb library"
grep -q '^Depends:.*\blibssl3\b' "$work/control/control" || fail "Depends lacks libssl3 (TLS is linked)"
# (Extracted to files first: under pipefail, `tar | grep -q` fails whenever grep stops reading before tar ends.)
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" ./usr/share/doc/ief-exporter/copyright ./etc/default/ief-exporter
grep -q '^Files: third_party/civetweb/' "$work/usr/share/doc/ief-exporter/copyright" ||
  fail "copyright lacks CivetWeb's notice"
for script in postinst prerm postrm; do
  sh -n "$work/control/$script" || fail "$script: shell syntax"
done
# The default file holds the service's arguments (see packaging/ief-exporter.default).
grep -qx 'ARGS=""' "$work/etc/default/ief-exporter" || fail 'no ARGS="" in /etc/default'

[ "$status" -eq 0 ] && echo "deb_check: $(basename "$deb") is lintian clean and laid out as expected"
exit "$status"
