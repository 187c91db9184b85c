#!/bin/bash
# Runs one Kafka node from /opt/kafka/libs. Every KAFKA_<NAME> variable becomes the broker
# setting <name> (lower case, _ -> ., __ -> _, ___ -> -), as in the official apache/kafka image, so one
# docker-compose.yml configures both; KAFKA_HEAP_OPTS and KAFKA_OPTS are JVM options. The storage
# (KAFKA_LOG_DIRS, /var/lib/kafka/data by default, the image's volume) is formatted once, with
# $CLUSTER_ID or a fresh id, and survives restarts of the container.
set -euo pipefail

export KAFKA_LOG_DIRS=${KAFKA_LOG_DIRS:-/var/lib/kafka/data}
config=/var/lib/kafka/server.properties
mkdir -p "$KAFKA_LOG_DIRS"

{
    echo "# Written by entrypoint.sh at every start from the KAFKA_* environment."
    while IFS='=' read -r name value; do
        case "$name" in
        KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_JVM_PERFORMANCE_OPTS) continue ;;
        KAFKA_*)
            key=${name#KAFKA_}
            key=${key,,}
            key=${key//___/-}  # the official image's escapes: ___ is -, __ is _
            key=${key//__/@}
            key=${key//_/.}
            echo "${key//@/_}=$value"
            ;;
        esac
    done < <(env)
} >"$config"

java=(java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} -XX:+UseG1GC -Djava.awt.headless=true
    -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties ${KAFKA_OPTS:-}
    -cp '/opt/kafka/libs/*')

if [[ ! -f "$KAFKA_LOG_DIRS/meta.properties" ]]; then
    cluster_id=${CLUSTER_ID:-$("${java[@]}" kafka.tools.StorageTool random-uuid)}
    echo "entrypoint: formatting $KAFKA_LOG_DIRS (cluster $cluster_id)"
    "${java[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$config"
fi

exec "${java[@]}" kafka.Kafka "$config"
