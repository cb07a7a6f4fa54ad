#!/usr/bin/env bash
# The system programs the tests start for real: redis-server (the fleet) and
# chromium (the dashboard test). Installed with apt-get when missing, so that
# `npm ci && npm test` sets up a fresh machine by itself (`npm test` runs this
# first, as `pretest`).
set -euo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if ((${#missing[@]} == 0)); then exit 0; fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
echo "capsule tests: installing ${missing[*]} with apt-get" >&2
"${sudo[@]}" apt-get update
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y "${missing[@]}"
