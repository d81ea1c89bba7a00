#!/usr/bin/env bash
# Installs the schema tools of tests/deploy (package.json + package-lock.json) into DEST with `npm ci`, unless
# DEST already holds exactly that lockfile's install. The lockfile records no registry address (.npmrc).
# Usage: npm_ci.sh SOURCE_DIR DEST
set -euo pipefail
src="$1"
dest="$2"
mkdir -p "$dest"
if [ -f "$dest/node_modules/.package-lock.json" ] && cmp -s "$src/package-lock.json" "$dest/package-lock.json"; then
  echo "npm_ci: $dest is up to date"
  exit 0
fi
cp "$src/package.json" "$src/package-lock.json" "$src/.npmrc" "$dest/"
cd "$dest"
npm ci --no-audit --no-fund --loglevel=error
