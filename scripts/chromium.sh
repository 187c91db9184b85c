#!/usr/bin/env bash
# Debian's chromium (the dashboard's browser test) and a CJK font (the funnel chart's labels).
#
#   scripts/chromium.sh install   apt-get install chromium and fonts-wqy-zenhei unless present
#   scripts/chromium.sh path      print the browser's path (exit 1 when it is not installed)
#
# The .debs are kept in $CHUNFENG_CACHE/debs/chromium (default ~/.cache/chunfeng), so a second
# machine state (a fresh container with the same cache) installs without the network. Needs root
# (or the packages already installed); `make test` runs it before the tests, and the browser test
# fails loudly under CI=true when no browser is found.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/daemon.sh"

packages=(chromium fonts-wqy-zenhei)
debs="$chunfeng_cache/debs/chromium"

browser() {
    local b
    for b in chromium chromium-browser; do
        command -v "$b" >/dev/null 2>&1 && { command -v "$b"; return 0; }
    done
    return 1
}

installed() { browser >/dev/null && fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy"; }

install_locked() {
    installed && return 0
    if ((EUID != 0)); then
        echo "chromium: not installed and not root: apt-get install ${packages[*]} by hand" >&2
        return 1
    fi
    echo "chromium: installing Debian's ${packages[*]} (debs cached in $debs)" >&2
    export DEBIAN_FRONTEND=noninteractive
    mkdir -p "$debs/partial"
    local apt=(apt-get -y -q -o "Dir::Cache::archives=$debs")
    "${apt[@]}" install --no-install-recommends "${packages[@]}" >/dev/null 2>&1 || {
        apt-get update -q >/dev/null
        "${apt[@]}" install --no-install-recommends "${packages[@]}" >/dev/null
    }
    browser >/dev/null || { echo "chromium: no browser after install" >&2; return 1; }
}

case "${1:-path}" in
install) with_lock chromium-install install_locked ;;
path) browser ;;
*) echo "usage: $0 install|path" >&2; exit 2 ;;
esac
