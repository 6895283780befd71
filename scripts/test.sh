#!/usr/bin/env bash
# The README's test command: every test of every module in go.work, with the
# two gateways the gateway tests run as real processes (examples/gateways).
#
# On Debian (apt-get), as root or through sudo, it installs the packages
# nginx and caddy when their binaries are missing, without letting the
# packages start their daemons: a temporary /usr/sbin/policy-rc.d refuses
# every service start during the install, and a daemon that started anyway
# (under systemd) is stopped. Anywhere else it says which packages are
# missing and runs the tests all the same: the gateway tests then fail,
# each naming the gateway it could not find, and the rest still report.
set -euo pipefail
cd "$(dirname "$0")/.."

# The packages; each installs a binary of its own name, which the tests
# look for. /usr/sbin is searched too: it is where nginx lives, and it is
# not on every user's PATH.
missing=()
for pkg in nginx caddy; do
  if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$pkg" >/dev/null 2>&1; then
    missing+=("$pkg")
  fi
done

# as_root runs a command as root: directly, or through sudo.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  else
    sudo "$@"
  fi
}

# invoke-rc.d and deb-systemd-invoke ask policy-rc.d before starting a
# service; exit status 101 means "not allowed". One already there is the
# machine's own policy and is left as it is; ours is removed however the
# install ends.
policy=/usr/sbin/policy-rc.d
placed_policy=""
remove_policy() {
  if [ -n "$placed_policy" ]; then
    as_root rm -f "$policy" || true
    placed_policy=""
  fi
}

install_packages() {
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
    return 1
  fi
  command -v apt-get >/dev/null 2>&1 || return 1

  if [ ! -e "$policy" ]; then
    trap remove_policy EXIT INT TERM
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null || return 1
    placed_policy=1
    as_root chmod 755 "$policy" || return 1
  fi
  local status=0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || status=$?
  if [ "$status" -eq 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "${missing[@]}" || status=$?
  fi
  remove_policy
  trap - EXIT INT TERM
  # Under systemd a unit can still have been started (an older
  # deb-systemd-invoke, a socket): stop what the packages installed.
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    local pkg
    for pkg in "${missing[@]}"; do
      if systemctl is-active --quiet "$pkg" 2>/dev/null; then
        as_root systemctl stop "$pkg" || true
      fi
    done
  fi
  return "$status"
}

if [ "${#missing[@]}" -gt 0 ]; then
  echo "scripts/test.sh: installing ${missing[*]} (Debian packages) for the gateway tests" >&2
  if ! install_packages; then
    echo "scripts/test.sh: could not install ${missing[*]}: install the package(s) ${missing[*]}" \
      "(on Debian: apt-get install ${missing[*]}); the gateway tests in examples/gateways fail until then" >&2
  fi
fi

exec go test -race -count=1 work
