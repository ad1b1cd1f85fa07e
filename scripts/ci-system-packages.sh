#!/usr/bin/env bash
# System packages the test suite needs that a fresh machine may lack: Debian's Chromium (browser tests drive it
# through playwright-core at /usr/bin/chromium) and redis-server (recovery tests start a private one).
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  echo "ci: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
