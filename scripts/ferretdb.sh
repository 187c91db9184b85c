#!/usr/bin/env bash
# FerretDB v1.24.2 (MongoDB wire protocol over SQLite or PostgreSQL) for development and tests,
# built from source fetched through the Go module proxy.
#
#   scripts/ferretdb.sh build             -> $CHUNFENG_CACHE/bin/ferretdb-v1.24.2 (once, ~70 s)
#   scripts/ferretdb.sh start  [DATADIR]  start in the background on 127.0.0.1:$FERRETDB_PORT (27017), wait until ready
#   scripts/ferretdb.sh stop   [DATADIR]
#   scripts/ferretdb.sh status [DATADIR]
#
# DATADIR defaults to $FERRETDB_DATA_DIR, else <repo>/var/ferretdb; it holds FerretDB's
# state.json, ferretdb.pid, ferretdb.out (its log) and, on SQLite, one SQLite file per database.
#
# CHUNFENG_STORE_BACKEND picks the backend: `postgresql` (default) or `sqlite`; PostgreSQL's server
# scripts/postgres.sh runs and must be up first (devstack starts it; POSTGRES_PORT must agree).
# Why PostgreSQL: FerretDB 1.24 on SQLite hands only a lone `{_id: x}` filter to SQL, and in an
# expression (`->'$._id'`) its own _id index (`->"_id"`) does not match, so every query scans,
# and any other filter decodes every document in Go (bench/store.py: 0.2-0.5 ms per document
# per query). On PostgreSQL top-level equality filters become SQL (`_jsonb->'f' @> value`);
# scripts/postgres.sh's GIN companions let PostgreSQL answer them from an index. FERRETDB_PORT
# and FERRETDB_DEBUG_ADDR move it off 27017/8089 (the store benchmark runs beside a stack).
#
# Why not `go install ...@v1.24.2`: the proxy refuses the module's version list (403), which
# `go install` asks for. `go get` of the exact version inside a scratch module works; the
# module zip lacks build/version/version.txt, without which the binary panics, so the build
# runs from a writable copy of the module with that file added.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/daemon.sh"

version=v1.24.2
module=github.com/FerretDB/FerretDB
binary="$chunfeng_cache/bin/ferretdb-$version"
host=127.0.0.1
port=${FERRETDB_PORT:-27017}
debug_addr=${FERRETDB_DEBUG_ADDR:-127.0.0.1:8089}
backend=${CHUNFENG_STORE_BACKEND:-postgresql}

export GOMODCACHE="$chunfeng_cache/go/mod" GOCACHE="$chunfeng_cache/go/build"
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0

build_locked() {
    [[ -x "$binary" ]] && return 0
    local dir="$chunfeng_cache/ferretdb-build"
    echo "ferretdb: building FerretDB $version into $binary (first time only)" >&2
    # The module cache is read-only; make the old copy deletable before replacing it.
    [[ -d "$dir" ]] && chmod -R u+w "$dir" && rm -rf "$dir"
    mkdir -p "$dir" "$(dirname "$binary")"
    (
        cd "$dir"
        printf 'module chunfeng/ferretdb-build\n\ngo 1.22\n' >go.mod
        go get "$module/cmd/ferretdb@$version" 2>go-get.log || { cat go-get.log >&2; exit 1; }
        cp -r "$(go env GOMODCACHE)/github.com/!ferret!d!b/!ferret!d!b@$version" src
        chmod -R u+w src
        echo "$version" >src/build/version/version.txt
        go mod edit -replace "$module=./src"
        go build -o "$binary.tmp" "$module/cmd/ferretdb"
    )
    mv "$binary.tmp" "$binary"
    echo "ferretdb: built $binary" >&2
}

build() { with_lock ferretdb-build build_locked; }

cmd=${1:-status}
data=${2:-${FERRETDB_DATA_DIR:-$chunfeng_root/var/ferretdb}}
data=$(realpath -m "$data")

case "$cmd" in
build) build ;;
start)
    if pid=$(daemon_pid ferretdb "$data"); then
        echo "ferretdb: already running (pid $pid, $host:$port)"
        exit 0
    fi
    build
    case "$backend" in
    sqlite) handler=(--handler=sqlite "--sqlite-url=file:$data/") ;;
    postgresql)
        if ! port_open "$host" "${POSTGRES_PORT:-5433}"; then
            echo "ferretdb: no PostgreSQL on $host:${POSTGRES_PORT:-5433}; run scripts/postgres.sh start" >&2
            exit 1
        fi
        handler=(--handler=postgresql "--postgresql-url=$(bash "$chunfeng_root/scripts/postgres.sh" url)")
        ;;
    *)
        echo "ferretdb: CHUNFENG_STORE_BACKEND must be sqlite or postgresql, not $backend" >&2
        exit 2
        ;;
    esac
    echo "ferretdb: backend $backend"
    daemon_start ferretdb "$data" "$host" "$port" true \
        "$binary" "${handler[@]}" "--listen-addr=$host:$port" \
        "--state-dir=$data" --telemetry=disable "--debug-addr=$debug_addr" --log-level=INFO
    ;;
stop) daemon_stop ferretdb "$data" ;;
status) daemon_status ferretdb "$data" "$host" "$port" ;;
*)
    echo "usage: $0 build|start|stop|status [DATADIR]" >&2
    exit 2
    ;;
esac
