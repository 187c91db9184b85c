#!/usr/bin/env bash
# The base of every locally built image: local/debian:bookworm, a minimal Debian 12 made with
# debootstrap, because no container registry is reachable here and so nothing can be pulled.
#
#   scripts/base-image.sh [IMAGE]   make sure IMAGE (default local/debian:bookworm) exists
#
# The root filesystem is made once (about 45 s) and kept as a tarball in
# $CHUNFENG_CACHE/images/; a new Docker engine (a fresh /var/lib/docker) imports it in seconds.
# Its apt sources are the host's, so `apt-get install` inside a build reaches the same mirror.
# Bookworm's python3 is 3.11, the project's Python. Needs root (debootstrap, docker).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/daemon.sh"

image=${1:-local/debian:bookworm}
suite=bookworm
tarball="$chunfeng_cache/images/debian-$suite-minbase.tar"

mirror() {  # the host's Debian mirror: first URIs: in a deb822 file, else a sources.list line
    local uri
    uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)
    [[ -z "$uri" ]] && uri=$(grep -hsE '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -n1 || true)
    echo "${uri:-http://deb.debian.org/debian}"
}

make_tarball() {
    [[ -s "$tarball" ]] && return 0
    command -v debootstrap >/dev/null || {
        echo "base-image: installing debootstrap" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    }
    local root="$chunfeng_cache/images/rootfs-$suite.tmp" m
    m=$(mirror)
    echo "base-image: debootstrap --variant=minbase $suite from $m (once, about a minute)" >&2
    rm -rf "$root"
    mkdir -p "$root"
    debootstrap --variant=minbase "$suite" "$root" "$m" >"$chunfeng_cache/images/debootstrap.log" 2>&1 || {
        tail -n 30 "$chunfeng_cache/images/debootstrap.log" >&2
        return 1
    }
    # The host's sources (suite updates and security too) instead of debootstrap's one line.
    if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
        rm -f "$root/etc/apt/sources.list"
        cp /etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list.d/"
    fi
    # Smaller image, and no stale package lists baked in (every build runs apt-get update).
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/tmp/*
    tar -C "$root" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$root"
}

import_locked() {
    docker image inspect "$image" >/dev/null 2>&1 && return 0
    make_tarball
    echo "base-image: importing $tarball as $image" >&2
    docker import --change 'CMD ["bash"]' "$tarball" "$image" >/dev/null
}

mkdir -p "$chunfeng_cache/images"
with_lock base-image import_locked
