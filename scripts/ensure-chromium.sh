#!/usr/bin/env bash
# Print the path of a Chromium binary, installing Debian's chromium package first when none is there
# and we are root (the browser test of `kraft check --html` runs it headless). Exit 1 with one line
# on stderr when there is none and it cannot be installed.
set -uo pipefail

find_chromium() {
  local name
  for name in "${CHROMIUM:-}" chromium chromium-browser google-chrome-stable google-chrome; do
    [ -n "$name" ] && command -v "$name" 2>/dev/null && return 0
  done
  return 1
}

if find_chromium; then exit 0; fi

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-chromium: no chromium binary on the PATH, and only root can install Debian's package (apt-get install -y chromium)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: no chromium binary on the PATH and no apt-get to install it with" >&2
  exit 1
fi

echo "ensure-chromium: installing Debian's chromium package" >&2
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or stale on a fresh machine: update them once if the first try fails.
apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 ||
  { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; } || {
  echo "ensure-chromium: apt-get install -y chromium failed" >&2
  exit 1
}

if find_chromium; then exit 0; fi
echo "ensure-chromium: chromium was installed but no binary is on the PATH" >&2
exit 1
