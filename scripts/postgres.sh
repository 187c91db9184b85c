#!/usr/bin/env bash
# PostgreSQL (Debian's package) as FerretDB's backend for development, tests and benchmarks.
#
#   scripts/postgres.sh install          apt-get install postgresql, unless its binaries are there
#   scripts/postgres.sh start  [DATADIR] initdb DATADIR once, start on 127.0.0.1:$POSTGRES_PORT,
#                                        wait until ready, create the database FerretDB uses
#   scripts/postgres.sh stop   [DATADIR]
#   scripts/postgres.sh status [DATADIR]
#   scripts/postgres.sh url              the URL FerretDB's --postgresql-url takes (with
#                                        pool_max_conns=$FERRETDB_PG_POOL, default 176)
#
# DATADIR defaults to $POSTGRES_DATA_DIR, else <repo>/var/postgres; the cluster is in
# DATADIR/cluster, its log in DATADIR/postgres.out. POSTGRES_PORT defaults to 5433: 5432 is
# left to a system cluster. Connections from 127.0.0.1 are trusted (a local dev cluster, no
# password to leak); the role and database are both `ferretdb`.
#
# Every start installs infra/postgres/gin-companions.sql in that database: an event trigger
# that gives each index FerretDB creates a GIN companion PostgreSQL can use for FerretDB's
# filters (see the file for why). POSTGRES_GIN_COMPANIONS=0 disables it (only to measure
# FerretDB's plain behaviour: indexes created meanwhile stay without companions).
#
# Why a separate user: postgres refuses to run as root, and the development machines run as
# root, so the cluster is owned by and runs as the `postgres` system user the package creates
# (as the invoking user when that is not root).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/daemon.sh"

host=127.0.0.1
port=${POSTGRES_PORT:-5433}
db=ferretdb
role=ferretdb
# FerretDB's pool of PostgreSQL connections and the cluster's limit, by arithmetic (docs/store.md,
# "Connections"): an operation of FerretDB 1.24 may hold two pooled connections at once (an
# update reads through an open query while it writes in a transaction on a second one), so with
# fewer than 2 x (operations in flight) connections it can deadlock for good. Every client's
# operations in flight are capped (MONGODB_MAX_POOL, 10, applied by shared/store/mongo.py) and at
# most 8 clients run (4 services, a second notify worker, tests and tools): 2 x 8 x 10 + 16 slack.
pool_max_conns=${FERRETDB_PG_POOL:-176}
max_connections=${POSTGRES_MAX_CONNECTIONS:-200}

pg_bin() {  # prints the directory of the newest installed server binaries
    local d
    d=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
    [[ -n "$d" && -x "$d/postgres" ]] && echo "$d"
}

install_locked() {
    pg_bin >/dev/null && return 0
    echo "postgres: installing Debian's postgresql package" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q postgresql >/dev/null 2>&1 || {
        apt-get update -q >/dev/null
        apt-get install -y -q postgresql >/dev/null
    }
    pg_bin >/dev/null || { echo "postgres: no server binaries after install" >&2; return 1; }
}

install() { with_lock postgres-install install_locked; }

as_owner=()  # the prefix that runs a command as the cluster's owner (setpriv execs: no extra process)
((EUID == 0)) && as_owner=(setpriv --reuid=postgres --regid=postgres --init-groups --)

ready() { "$bin/pg_isready" -q -h "$host" -p "$port"; }

cmd=${1:-status}
data=${2:-${POSTGRES_DATA_DIR:-$chunfeng_root/var/postgres}}
data=$(realpath -m "$data")
cluster="$data/cluster"

case "$cmd" in
install) install ;;
url) echo "postgres://$role@$host:$port/$db?pool_max_conns=$pool_max_conns" ;;
start)
    if pid=$(daemon_pid postgres "$data"); then
        echo "postgres: already running (pid $pid, $host:$port)"
        exit 0
    fi
    install
    bin=$(pg_bin)
    mkdir -p "$data"
    ((EUID == 0)) && chown postgres: "$data"
    if [[ ! -f "$cluster/PG_VERSION" ]]; then
        echo "postgres: initdb $cluster"
        "${as_owner[@]}" "$bin/initdb" -D "$cluster" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
            >"$data/initdb.log" 2>&1 || { cat "$data/initdb.log" >&2; exit 1; }
    fi
    # The settings are on the command line, so the script (not a stale file) is what counts.
    # The socket directory is the data directory: /var/run/postgresql may not exist or be ours.
    DAEMON_LOG="$data/postgres.out" daemon_start postgres "$data" "$host" "$port" ready \
        "${as_owner[@]}" "$bin/postgres" -D "$cluster" -c "listen_addresses=$host" -c "port=$port" \
        -c "unix_socket_directories=$data" -c "max_connections=$max_connections" -c shared_buffers=256MB \
        -c "synchronous_commit=${POSTGRES_SYNCHRONOUS_COMMIT:-on}" -c log_min_messages=warning
    psql=("$bin/psql" -h "$host" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt)
    if [[ -z "$("${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = '$role'")" ]]; then
        "${psql[@]}" -c "CREATE ROLE $role LOGIN"
    fi
    if [[ -z "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]]; then
        "${psql[@]}" -c "CREATE DATABASE $db OWNER $role"
    fi
    "${psql[@]}" -d "$db" -f "$chunfeng_root/infra/postgres/gin-companions.sql" >/dev/null
    if [[ "${POSTGRES_GIN_COMPANIONS:-1}" == 0 ]]; then
        "${psql[@]}" -d "$db" -c "ALTER EVENT TRIGGER chunfeng_gin_companions DISABLE"
    else
        "${psql[@]}" -d "$db" -c "ALTER EVENT TRIGGER chunfeng_gin_companions ENABLE"
    fi
    ;;
stop) daemon_stop postgres "$data" ;;
status) daemon_status postgres "$data" "$host" "$port" ;;
*)
    echo "usage: $0 install|start|stop|status|url [DATADIR]" >&2
    exit 2
    ;;
esac
