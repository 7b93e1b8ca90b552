#!/usr/bin/env bash
# Debian's Chromium and NSS tools (certutil) for the browser tests, installed when missing.
set -euo pipefail
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v certutil >/dev/null || missing+=(libnss3-tools)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
  echo "error: the browser tests need ${missing[*]}: run 'apt-get install -y ${missing[*]}' as root" >&2; exit 1
fi
echo "installing ${missing[*]} (Debian packages) for the browser tests"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
