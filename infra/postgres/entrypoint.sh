#!/bin/bash
# Initialises $PGDATA once (user $POSTGRES_USER with $POSTGRES_PASSWORD, database $POSTGRES_DB,
# password authentication from the network), installs the GIN companions
# (infra/postgres/gin-companions.sql, idempotent, on every start as scripts/postgres.sh does),
# then runs PostgreSQL in the foreground with max_connections=$POSTGRES_MAX_CONNECTIONS (200:
# FerretDB's pool_max_conns in docker-compose.offline.yml plus room; docs/store.md, "Connections").
# GIN_COMPANIONS_SQL moves the SQL file (the image has it in /usr/local/share/chunfeng).
set -euo pipefail
: "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}" "${POSTGRES_MAX_CONNECTIONS:=200}"

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    if [[ "$POSTGRES_DB" != postgres ]]; then
        echo "CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$POSTGRES_USER\";" |
            postgres --single -D "$PGDATA" -j postgres >/dev/null
    fi
fi

# The companions, on a server that listens on its socket only: nothing connects before they are in.
pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
psql -v ON_ERROR_STOP=1 -qAt -U "$POSTGRES_USER" -d "$POSTGRES_DB" \
    -f "${GIN_COMPANIONS_SQL:-/usr/local/share/chunfeng/gin-companions.sql}" >/dev/null
psql -v ON_ERROR_STOP=1 -qAt -U "$POSTGRES_USER" -d "$POSTGRES_DB" \
    -c "ALTER EVENT TRIGGER chunfeng_gin_companions ENABLE" >/dev/null
pg_ctl -D "$PGDATA" -w -m fast stop >/dev/null

exec postgres -D "$PGDATA" -c listen_addresses='*' -c "max_connections=$POSTGRES_MAX_CONNECTIONS"
