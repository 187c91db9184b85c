#!/usr/bin/env bash
# Apache Kafka 4.1.1 for development and tests: one KRaft node that is both broker
# (127.0.0.1:9092) and controller (127.0.0.1:9093), run from jars fetched from Maven Central.
#
#   scripts/kafka.sh fetch             jars -> $CHUNFENG_CACHE/kafka-4.1.1/libs (once)
#   scripts/kafka.sh start  [DATADIR]  format DATADIR once, start in the background, wait until ready
#   scripts/kafka.sh stop   [DATADIR]
#   scripts/kafka.sh status [DATADIR]
#
# DATADIR defaults to $KAFKA_DATA_DIR, else <repo>/var/kafka. It holds server.properties, the
# partitions (logs/), kafka.pid, kafka.out (JVM output) and server.log (the broker's log).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/daemon.sh"

version=4.1.1
home="$chunfeng_cache/kafka-$version"
libs="$home/libs"
pom="$chunfeng_root/infra/kafka/pom.xml"
host=127.0.0.1
# KAFKA_PORT / KAFKA_CONTROLLER_PORT move it off 9092/9093: `make chaos` runs a broker of its
# own there when the one on 9092 belongs to another run (it may only SIGKILL its own).
port=${KAFKA_PORT:-9092}
controller_port=${KAFKA_CONTROLLER_PORT:-9093}

fetch_locked() {
    local want
    want=$(sha256sum "$pom" | cut -c1-12)
    [[ -f "$home/.complete" && "$(<"$home/.complete")" == "$want" ]] && return 0
    echo "kafka: fetching Kafka $version jars from Maven Central into $libs" >&2
    rm -rf "$libs.tmp"
    mkdir -p "$home"
    mvn -q -B -f "$pom" -Dmaven.repo.local="$chunfeng_cache/m2" \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs.tmp" \
        >"$home/fetch.log" 2>&1 || { cat "$home/fetch.log" >&2; return 1; }
    rm -rf "$libs"
    mv "$libs.tmp" "$libs"
    echo "$want" >"$home/.complete"
    echo "kafka: $(find "$libs" -name '*.jar' | wc -l) jars in $libs" >&2
}

fetch() { with_lock kafka-fetch fetch_locked; }

java=()
java_cmd() {  # DATADIR CLASS ARGS...: sets ${java[@]}, java on the fetched classpath logging into DATADIR
    local data=$1
    shift
    java=(java -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
        "-Dkafka.logs.dir=$data" \
        "-Dlog4j2.configurationFile=$chunfeng_root/infra/kafka/log4j2.properties" \
        -cp "$libs/*" "$@")
}

write_config() {  # DATADIR
    local data=$1
    cat >"$data/server.properties" <<PROPS
# Written by scripts/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$host:$controller_port
listeners=PLAINTEXT://$host:$port,CONTROLLER://$host:$controller_port
advertised.listeners=PLAINTEXT://$host:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$data/logs
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
PROPS
}

format_once() {  # DATADIR: the storage is formatted with a fresh cluster id the first time only
    local data=$1 cluster_id
    [[ -f "$data/logs/meta.properties" ]] && return 0
    java_cmd "$data" kafka.tools.StorageTool random-uuid
    cluster_id=$("${java[@]}" 2>>"$data/format.log")
    echo "kafka: formatting $data/logs (cluster $cluster_id)"
    java_cmd "$data" kafka.tools.StorageTool format -t "$cluster_id" -c "$data/server.properties"
    "${java[@]}" >>"$data/format.log" 2>&1 || { tail -n 20 "$data/format.log" >&2; return 1; }
}

log_lines_before=0
started() {  # the broker logs this once it serves requests
    tail -n "+$((log_lines_before + 1))" "$data/server.log" 2>/dev/null | grep -q 'Kafka Server started'
}

cmd=${1:-status}
data=${2:-${KAFKA_DATA_DIR:-$chunfeng_root/var/kafka}}
data=$(realpath -m "$data")

case "$cmd" in
fetch) fetch ;;
start)
    if pid=$(daemon_pid kafka "$data"); then
        echo "kafka: already running (pid $pid, $host:$port)"
        exit 0
    fi
    fetch
    mkdir -p "$data"
    write_config "$data"
    format_once "$data"
    [[ -f "$data/server.log" ]] && log_lines_before=$(wc -l <"$data/server.log")
    java_cmd "$data" kafka.Kafka "$data/server.properties"
    DAEMON_LOG="$data/server.log" daemon_start kafka "$data" "$host" "$port" started "${java[@]}"
    ;;
stop) daemon_stop kafka "$data" ;;
status) daemon_status kafka "$data" "$host" "$port" ;;
*)
    echo "usage: $0 fetch|start|stop|status [DATADIR]" >&2
    exit 2
    ;;
esac
