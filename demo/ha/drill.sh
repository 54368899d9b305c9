#!/usr/bin/env bash
# Measures the HA stack by hand with docker-compose (1.29), the way the chaos
# plugin's drills will through `run` (docs/ha-stack.md):
#
#   demo/ha/drill.sh ready [--fresh]        start the stack (--fresh: remove its
#                                           containers and volumes first) and time
#                                           until every service is ready
#   demo/ha/drill.sh pg-failover [kill|stop|partition] [--sync]
#                                           kill (SIGKILL), stop (SIGTERM) or
#                                           partition (all traffic dropped) the
#                                           Patroni leader under a write load
#                                           through HAProxy; time detection,
#                                           election, routing, writes again; heal
#                                           (start it, or lift the partition) and
#                                           time its rejoin as a replica
#                                           (pg_rewind); check acknowledged writes
#                                           and exactly one primary. --sync turns
#                                           synchronous_mode on first.
#   demo/ha/drill.sh redis-failover [kill|stop|partition]
#                                           the same for the Redis master and the
#                                           Sentinels
#   demo/ha/drill.sh status                 the cluster as the client sees it
#   demo/ha/drill.sh down [--volumes]       stop the stack (and remove its data)
#
# Environment: HA_PROJECT (Compose project name, default `ha`), HA_STATS_PORT
# (HAProxy's stats port on 127.0.0.1, default 58404) and the stack's own
# settings (see compose.yaml). Only containers and volumes of that project
# are touched. Needs docker, docker-compose and curl on the host, and for a
# partition run-test/chaos-helper:latest (tests/images/build.sh).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROJECT=${HA_PROJECT:-ha}
STATS=http://127.0.0.1:${HA_STATS_PORT:-58404}/stats\;csv
LOAD_ROWS=200 # acknowledged writes before the fault
TIMEOUT=120   # seconds any one wait may take

compose() { docker-compose -p "$PROJECT" -f "$HERE/compose.yaml" "$@"; }
say() { echo "$(date -u +%H:%M:%S.%3N) $*"; }
die() {
    echo "drill: error: $*" >&2
    exit 1
}
now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="${2:-$EPOCHREALTIME}" 'BEGIN { printf "%.1f", b - a }'; }

# The container of a service of this project (docker-compose and the
# quickstart plugin both label containers this way).
ctr() {
    docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" \
        --filter "label=com.docker.compose.service=$1" | head -n 1
}
ip_of() {
    docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$(ctr "$1")" 2>/dev/null || true
}
# HTTP status of GET http://SERVICE:8008/PATH from the host (000: no answer).
patroni_status() {
    local ip
    ip=$(ip_of "$1")
    [ -n "$ip" ] || {
        echo 000
        return
    }
    curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$ip:8008$2" || true
}
# status of SERVER in HAProxy's BACKEND (UP, DOWN, ...).
haproxy_status() {
    curl -s --max-time 1 "$STATS" | awk -F, -v b="$1" -v s="$2" '$1 == b && $2 == s { print $18 }'
}
in_client() { docker exec "$(ctr client)" "$@"; }

wait_ready() { # wait_ready START [PID LOG]: PID, if given, is `up -d`, whose failure ends the wait
    local start=$1 up_pid=${2:-} up_log=${3:-} deadline=$((SECONDS + 300)) line s id
    local services
    services=$(compose config --services | sort)
    declare -A ready_at=()
    while :; do
        local pending=()
        for s in $services; do
            [ -n "${ready_at[$s]:-}" ] && continue
            id=$(ctr "$s")
            if [ -z "$id" ]; then
                pending+=("$s(not created)")
                continue
            fi
            line=$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}} {{.State.ExitCode}}' "$id")
            case $line in
            "running healthy "* | "exited  0") ready_at[$s]=$(since "$start") ;;
            *) pending+=("$s($line)") ;;
            esac
        done
        [ ${#pending[@]} -eq 0 ] && break
        [ $SECONDS -lt $deadline ] || die "not ready after 300 s: ${pending[*]}"
        if [ -n "$up_pid" ] && ! kill -0 "$up_pid" 2>/dev/null; then
            wait "$up_pid" || die "docker-compose up -d failed: $(cat "$up_log"); not ready: ${pending[*]}"
            up_pid=''
        fi
        sleep 0.2
    done
    for s in $services; do printf '%s %s\n' "${ready_at[$s]}" "$s"; done | sort -n |
        awk '{ printf "  %6.1f s  %s\n", $1, $2 }'
    say "every service ready $(since "$start") s after \`up\`"
}

cmd_ready() {
    if [ "${1:-}" = --fresh ]; then
        say "removing project $PROJECT's containers, networks and volumes"
        compose down -v --remove-orphans >/dev/null 2>&1
    fi
    local start log
    log=$(mktemp)
    start=$(now)
    # Watched while it runs: `up -d` itself waits for the health of what
    # others depend on, so it returns shortly before the last are ready.
    compose up -d >"$log" 2>&1 &
    local up_pid=$!
    wait_ready "$start" "$up_pid" "$log"
    # (Reaped already if it ended during the wait; then `wait` says 127.)
    local rc=0
    wait "$up_pid" 2>/dev/null || rc=$?
    case $rc in 0 | 127) ;; *) die "docker-compose up -d failed: $(cat "$log")" ;; esac
    rm -f "$log"
    in_client ha-status
}

# The Patroni node holding the leader lock; fails unless exactly one does.
patroni_leader() {
    local n leaders=()
    for n in patroni-1 patroni-2 patroni-3; do
        [ "$(patroni_status "$n" /leader)" = 200 ] && leaders+=("$n")
    done
    [ ${#leaders[@]} -eq 1 ] || die "expected one Patroni leader, found ${#leaders[@]}: ${leaders[*]:-none}"
    echo "${leaders[0]}"
}

primaries() {
    local n out=()
    for n in patroni-1 patroni-2 patroni-3; do
        [ "$(patroni_status "$n" /primary)" = 200 ] && out+=("$n")
    done
    echo "${out[*]:-}"
}

start_load() { # start_load pg|redis DIR
    in_client mkdir -p "$2"
    docker exec -d -e HA_LOAD_DIR="$2" "$(ctr client)" sh -c "exec ha-$1-load >$2/load.log 2>&1"
    local deadline=$((SECONDS + TIMEOUT)) n=0
    while [ "$n" -lt "$LOAD_ROWS" ]; do
        [ $SECONDS -lt $deadline ] || die "the $1 load acknowledged only $n writes in $TIMEOUT s: $(in_client cat "$2/load.log")"
        sleep 0.2
        n=$(in_client sh -c "wc -l < $2/$1.acked" 2>/dev/null || echo 0)
    done
}
stop_load() { # stop_load pg|redis DIR
    in_client sh -c "kill -TERM \$(cat $2/$1-load.pid)"
    local deadline=$((SECONDS + 20))
    until in_client grep -q stopped "$2/load.log"; do
        [ $SECONDS -lt $deadline ] || break
        sleep 0.2
    done
    say "the write load's log:"
    in_client cat "$2/load.log" | sed 's/^/  /'
}

# The partition's helper: joins the target's network namespace with
# NET_ADMIN and drops everything but loopback, in and out (what the chaos
# plugin's `partition` fault does). Removed, rules first, by heal or on exit.
PARTITION_HELPER=$PROJECT-drill-partition-$$
HELPER_IMAGE=run-test/chaos-helper:latest
partition() { # partition CONTAINER
    docker run -d --name "$PARTITION_HELPER" --label run.drill=ha \
        --network "container:$1" --cap-drop ALL --cap-add NET_ADMIN \
        "$HELPER_IMAGE" sh -c 'iptables -I INPUT ! -i lo -j DROP && iptables -I OUTPUT ! -o lo -j DROP && exec sleep infinity' >/dev/null
}
unpartition() {
    docker inspect "$PARTITION_HELPER" >/dev/null 2>&1 || return 0
    docker exec "$PARTITION_HELPER" sh -c 'iptables -D INPUT ! -i lo -j DROP; iptables -D OUTPUT ! -o lo -j DROP' || true
    docker rm -f "$PARTITION_HELPER" >/dev/null || true
}
trap unpartition EXIT

fault() { # fault kill|stop|partition CONTAINER
    case $1 in
    kill) docker kill -s KILL "$2" >/dev/null ;;
    stop) docker stop -t 60 "$2" >/dev/null ;;
    partition) partition "$2" ;;
    *) die "fault $1: use kill, stop or partition" ;;
    esac
}
heal() { # heal kill|stop|partition CONTAINER
    case $1 in
    kill | stop) docker start "$2" >/dev/null ;;
    partition) unpartition ;;
    esac
}

cmd_pg_failover() {
    local how=kill sync=
    for a in "$@"; do
        case $a in
        kill | stop | partition) how=$a ;;
        --sync) sync=1 ;;
        *) die "pg-failover: unknown argument $a" ;;
        esac
    done
    if [ -n "$sync" ]; then
        say "synchronous_mode on"
        HA_SYNCHRONOUS_MODE=on compose up -d >/dev/null 2>&1
        wait_ready "$(now)"
    fi
    in_client ha-status
    local old
    old=$(patroni_leader)
    local dir
    dir=/tmp/ha-load/pg-$(date +%s)
    say "write load through HAProxy (:5000) until $LOAD_ROWS writes are acknowledged"
    start_load pg "$dir"

    say "$how the leader $old ($(ctr "$old" | cut -c1-12))"
    local t0 t_down='' t_elected='' t_routed='' new=''
    t0=$(now)
    fault "$how" "$(ctr "$old")" &
    local fault_pid=$!
    local deadline=$((SECONDS + TIMEOUT))
    while [ -z "$t_routed" ] || [ -z "$t_down" ]; do
        [ $SECONDS -lt $deadline ] || die "no failover within $TIMEOUT s"
        if [ -z "$t_down" ] && [ "$(haproxy_status postgres_primary "$old")" != UP ]; then
            t_down=$(now)
            say "+$(since "$t0" "$t_down") s HAProxy: $old no longer a write server"
        fi
        if [ -z "$t_elected" ]; then
            for n in patroni-1 patroni-2 patroni-3; do
                [ "$n" = "$old" ] && continue
                if [ "$(patroni_status "$n" /leader)" = 200 ]; then
                    t_elected=$(now) new=$n
                    say "+$(since "$t0" "$t_elected") s Patroni: $new holds the leader lock"
                fi
            done
        fi
        if [ -n "$new" ] && [ -z "$t_routed" ] && [ "$(haproxy_status postgres_primary "$new")" = UP ]; then
            t_routed=$(now)
            say "+$(since "$t0" "$t_routed") s HAProxy: writes go to $new"
        fi
        sleep 0.1
    done
    wait "$fault_pid"
    # Let the load show that writes go through again before healing.
    sleep 3

    say "healing $old ($how)"
    local t_start t_rejoined=''
    t_start=$(now)
    heal "$how" "$(ctr "$old")"
    deadline=$((SECONDS + TIMEOUT))
    until docker exec "$(ctr "$old")" patroni-ready >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || die "$old did not rejoin within $TIMEOUT s: $(docker exec "$(ctr "$old")" patroni-ready 2>&1)"
        sleep 0.2
    done
    t_rejoined=$(now)
    say "+$(since "$t_start" "$t_rejoined") s after its start, $old streams from $new as a replica"
    say "$old's log about the rejoin:"
    docker logs --since "$(date -u -d "@${t_start%.*}" +%Y-%m-%dT%H:%M:%S)" "$(ctr "$old")" 2>&1 |
        grep -iE 'rewind|demot|replica|follow|crash|recover' | sed 's/^/  /' | head -n 15 || true

    stop_load pg "$dir"
    in_client ha-pg-verify "$dir/pg.acked" | sed 's/^/  /' || true
    local p
    p=$(primaries)
    [ "$(echo "$p" | wc -w)" = 1 ] || die "expected exactly one primary, found: ${p:-none}"
    say "exactly one primary: $p"
    in_client ha-status
}

sentinel_master() {
    docker exec "$(ctr sentinel-1)" redis-cli -p 26379 --raw SENTINEL get-master-addr-by-name mymaster 2>/dev/null | head -n 1
}
redis_role() { # redis_role SERVICE
    docker exec -e REDISCLI_AUTH="${HA_REDIS_PASSWORD:-ha-demo}" "$(ctr "$1")" \
        redis-cli --no-auth-warning INFO replication 2>/dev/null | tr -d '\r' | grep -E '^role:' | cut -d: -f2
}

cmd_redis_failover() {
    local how=${1:-kill}
    case $how in kill | stop | partition) ;; *) die "redis-failover: unknown argument $how" ;; esac
    in_client ha-status
    local old
    old=$(sentinel_master)
    [ -n "$old" ] || die "the Sentinels name no master"
    local dir
    dir=/tmp/ha-load/redis-$(date +%s)
    say "write load through HAProxy (:6379) until $LOAD_ROWS writes are acknowledged"
    start_load redis "$dir"

    say "$how the master $old"
    local t0 t_down='' t_promoted='' t_routed='' new=''
    t0=$(now)
    fault "$how" "$(ctr "$old")" &
    local fault_pid=$!
    local deadline=$((SECONDS + TIMEOUT))
    while [ -z "$t_routed" ] || [ -z "$t_down" ]; do
        [ $SECONDS -lt $deadline ] || die "no failover within $TIMEOUT s"
        if [ -z "$t_down" ] && [ "$(haproxy_status redis_master "$old")" != UP ]; then
            t_down=$(now)
            say "+$(since "$t0" "$t_down") s HAProxy: $old no longer a write server"
        fi
        if [ -z "$t_promoted" ]; then
            local m
            m=$(sentinel_master)
            if [ -n "$m" ] && [ "$m" != "$old" ]; then
                t_promoted=$(now) new=$m
                say "+$(since "$t0" "$t_promoted") s Sentinel: $new is the master"
            fi
        fi
        if [ -n "$new" ] && [ -z "$t_routed" ] && [ "$(haproxy_status redis_master "$new")" = UP ]; then
            t_routed=$(now)
            say "+$(since "$t0" "$t_routed") s HAProxy: writes go to $new"
        fi
        sleep 0.1
    done
    wait "$fault_pid"
    sleep 3

    say "healing $old ($how)"
    local t_start
    t_start=$(now)
    heal "$how" "$(ctr "$old")"
    deadline=$((SECONDS + TIMEOUT))
    until [ "$(redis_role "$old")" = slave ] && docker exec "$(ctr "$old")" redis-ready >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || die "$old did not rejoin within $TIMEOUT s"
        sleep 0.2
    done
    say "+$(since "$t_start") s after its start, $old is a replica of $new with its link up"
    docker logs --since "$(date -u -d "@${t_start%.*}" +%Y-%m-%dT%H:%M:%S)" "$(ctr "$old")" 2>&1 |
        grep -E 'redis-entrypoint' | sed 's/^/  /' || true

    stop_load redis "$dir"
    in_client ha-redis-verify "$dir/redis.acked" | sed 's/^/  /' || true
    local masters=()
    for s in redis-1 redis-2; do
        [ "$(redis_role "$s")" = master ] && masters+=("$s")
    done
    [ ${#masters[@]} -eq 1 ] || die "expected exactly one Redis master, found: ${masters[*]:-none}"
    say "exactly one master: ${masters[0]}"
    in_client ha-status
}

case ${1:-} in
ready) cmd_ready "${@:2}" ;;
pg-failover) cmd_pg_failover "${@:2}" ;;
redis-failover) cmd_redis_failover "${@:2}" ;;
status) in_client ha-status ;;
down)
    if [ "${2:-}" = --volumes ]; then compose down -v; else compose down; fi
    ;;
*)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
    exit 2
    ;;
esac
