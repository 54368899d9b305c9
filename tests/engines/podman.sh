#!/usr/bin/env bash
# Runs integration tests against Podman's Docker-compatible API: starts
# `podman system service` on a socket of its own, loads the test images
# into Podman (docker save | podman load, cached by image ID), and runs
# `cargo test --workspace --test integration FILTER...` (the workspace, so
# the build of `cargo test --workspace` is reused: `-p runner` unifies other
# features and would compile wasmtime again) with DOCKER_HOST
# pointing there, so `run` and the tests' own `docker` commands both use
# Podman. Default filters: backup::
#
# Podman needs `default_ulimits = []` where the process lacks
# CAP_SYS_RESOURCE (as in many CI containers): the containers.conf written
# here says so, and CONTAINERS_CONF points Podman at it.
#
# With RUN_TEST_PODMAN_USER=NAME, Podman runs rootless as that user (who
# needs ranges in /etc/subuid and /etc/subgid; uidmap and slirp4netns
# installed): the service, the image loads and the tests' own `podman`
# commands run as NAME; the tests and `run` stay root and reach its socket.
# tests/engines/rootless-user.sh NAME sets all of that up (as root).
#
#   bash tests/engines/podman.sh                 # backup tests
#   bash tests/engines/podman.sh backup:: chaos::
#   RUN_TEST_PODMAN_USER=podrunner bash tests/engines/podman.sh backup::
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

command -v podman >/dev/null || { echo "podman is not installed (apt-get install podman)" >&2; exit 1; }

work=$(mktemp -d /tmp/run-podman.XXXXXX)
chmod 755 "$work"
printf '[containers]\ndefault_ulimits = []\n' >"$work/containers.conf"
export CONTAINERS_CONF="$work/containers.conf"
user=${RUN_TEST_PODMAN_USER:-}
if [ -n "$user" ]; then
    home=$(getent passwd "$user" | cut -d: -f6)
    [ -n "$home" ] || { echo "no user $user" >&2; exit 1; }
    grep -q "^$user:" /etc/subuid || { echo "$user has no range in /etc/subuid" >&2; exit 1; }
    chown "$user": "$work"
    # The user's runtime directory where systemd-logind would make it: one
    # place from run to run, since rootless Podman records it in its
    # database and keeps using the first one it saw.
    runtime=/run/user/$(id -u "$user")
    install -d -m 700 -o "$user" -g "$(id -gn "$user")" "$runtime"
    # Every `podman` from here on (this script's, the tests') runs as $user.
    mkdir "$work/bin"
    cat >"$work/bin/podman" <<EOF
#!/bin/sh
cd /
exec runuser -u $user -- env HOME=$home XDG_RUNTIME_DIR=$runtime CONTAINERS_CONF=$CONTAINERS_CONF $(command -v podman) "\$@"
EOF
    chmod 755 "$work/bin/podman"
    export PATH="$work/bin:$PATH"
fi

# Compose service names resolve on Podman's CNI networks (Debian's default
# backend) only through the dnsname plugin.
if [ "$(podman info --format '{{.Host.NetworkBackend}}')" = cni ] && [ ! -x /usr/lib/cni/dnsname ]; then
    echo "Podman's CNI networks have no DNS without the dnsname plugin (apt-get install golang-github-containernetworking-plugin-dnsname)" >&2
    exit 1
fi
bash tests/images/build.sh

socket="$work/podman.sock"
# In $work: conmon leaves a file `oom` in the service's directory when a
# container is OOM-killed (the chaos memory stress does that on purpose).
(cd "$work" && exec podman system service --time=0 "unix://$socket" >"$work/service.log" 2>&1) &
service=$!
cleanup() {
    kill "$service" 2>/dev/null || true
    wait "$service" 2>/dev/null || true
    # Rootless Podman's pause process holds the user's namespace; without a
    # login session to end, it would outlive the run.
    if [ -n "$user" ] && [ -f "$runtime/libpod/tmp/pause.pid" ]; then
        kill "$(cat "$runtime/libpod/tmp/pause.pid")" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.1; done
[ -S "$socket" ] || { cat "$work/service.log" >&2; exit 1; }
# The test images, unless Podman has them already (same image ID).
for image in run-test/postgres:15 run-test/busybox:latest run-test/chaos-helper:latest; do
    id=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null) || continue
    if [ "$(podman image inspect -f '{{.Id}}' "$image" 2>/dev/null)" != "${id#sha256:}" ]; then
        docker save "$image" | podman load -q
    fi
done

# The HA stack's images are not needed here (and would be built anew in Podman).
export RUN_TEST_IMAGES_HA=0
# Podman runs health checks from systemd timers, absent here. The runner
# runs them itself while it waits (docs/container.md); the tests' own waits
# for the containers they start (`docker` CLI, tests/support/images.rs) run
# `podman healthcheck run` when told to.
export RUN_TEST_PODMAN_HEALTHCHECKS=1
filters=("$@")
[ ${#filters[@]} -gt 0 ] || filters=(backup::)
DOCKER_HOST="unix://$socket" cargo test --workspace --test integration -- "${filters[@]}" --test-threads 2
