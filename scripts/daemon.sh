# Sourced by scripts/kafka.sh and scripts/ferretdb.sh: start/stop/status of one background
# process that owns a data directory and listens on one TCP port.
#
#   daemon_start NAME DATADIR HOST PORT READY_FN CMD...   start CMD in its own session, write
#       DATADIR/NAME.pid, send its output to DATADIR/NAME.out, and wait (DAEMON_TIMEOUT, 60 s)
#       until PORT answers and READY_FN (a shell function, may be `true`) succeeds. A no-op
#       when the pid file names a live process. Fails, with the tail of DAEMON_LOG (default
#       the .out file), when the process dies or the time runs out.
#   daemon_stop NAME DATADIR       SIGTERM, wait up to 30 s, then SIGKILL. No-op when stopped.
#   daemon_status NAME DATADIR HOST PORT   prints the state; exit 0 running, 3 stopped.
# shellcheck shell=bash

chunfeng_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
chunfeng_cache=${CHUNFENG_CACHE:-$HOME/.cache/chunfeng}

port_open() {  # HOST PORT: does something accept TCP connections there?
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

daemon_pid() {  # NAME DATADIR: prints the pid if the pid file names a live process
    local pidfile="$2/$1.pid" pid
    [[ -f "$pidfile" ]] || return 1
    pid=$(<"$pidfile")
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

daemon_start() {
    local name=$1 data=$2 host=$3 port=$4 ready=$5
    shift 5
    local pid out="$data/$name.out" timeout=${DAEMON_TIMEOUT:-60}
    local log=${DAEMON_LOG:-$out}
    if pid=$(daemon_pid "$name" "$data"); then
        echo "$name: already running (pid $pid, $host:$port)"
        return 0
    fi
    if port_open "$host" "$port"; then
        echo "$name: $host:$port is already taken by another process (not $data)" >&2
        return 1
    fi
    mkdir -p "$data"
    rm -f "$data/$name.pid"  # stale: its process is gone
    # setsid: the daemon outlives the shell (and make, and Ctrl-C) that started it. The pid file
    # appears whole (written aside, then renamed): the loop below reads an empty one as "exited".
    setsid bash -c 'echo $$ > "$0.tmp" && mv "$0.tmp" "$0"; exec "$@"' "$data/$name.pid" "$@" \
        >"$out" 2>&1 </dev/null &
    local deadline=$((SECONDS + timeout))
    while ! pid=$(daemon_pid "$name" "$data") || ! port_open "$host" "$port" || ! "$ready"; do
        if [[ -f "$data/$name.pid" ]] && ! daemon_pid "$name" "$data" >/dev/null; then
            echo "$name: exited during start-up; last lines of $log:" >&2
            tail -n 40 "$log" >&2 || true
            rm -f "$data/$name.pid"
            return 1
        fi
        if ((SECONDS >= deadline)); then
            echo "$name: not ready on $host:$port after ${timeout}s; last lines of $log:" >&2
            tail -n 40 "$log" >&2 || true
            daemon_stop "$name" "$data" >&2
            return 1
        fi
        sleep 0.3
    done
    echo "$name: started (pid $pid, $host:$port, data $data)"
}

daemon_stop() {
    local name=$1 data=$2 pid i
    if ! pid=$(daemon_pid "$name" "$data"); then
        rm -f "$data/$name.pid"
        echo "$name: not running"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "$name: did not stop within 30 s, sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$data/$name.pid"
    echo "$name: stopped (pid $pid)"
}

daemon_status() {
    local name=$1 data=$2 host=$3 port=$4 pid
    if pid=$(daemon_pid "$name" "$data"); then
        if port_open "$host" "$port"; then
            echo "$name: running (pid $pid, $host:$port, data $data)"
        else
            echo "$name: running (pid $pid) but $host:$port does not answer"
        fi
        return 0
    fi
    if port_open "$host" "$port"; then
        echo "$name: not started from $data, but $host:$port answers (another instance)"
    else
        echo "$name: not running"
    fi
    return 3
}

# Serialises fetch/build steps of concurrent runs that share one cache.
with_lock() {  # LOCKNAME CMD...
    local lock="$chunfeng_cache/$1.lock"
    shift
    mkdir -p "$chunfeng_cache"
    (
        flock 9
        "$@"
    ) 9>"$lock"
}
