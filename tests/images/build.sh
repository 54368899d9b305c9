#!/usr/bin/env bash
# Builds the container images the integration tests need, without any
# registry: everything comes from Debian packages through the apt mirror this
# machine already uses.
#
#   run-test/busybox:latest   static busybox from Debian's busybox-static
#   run-test/postgres:15      Debian bookworm (debootstrap minbase) + postgresql-15
#                             (imported as run-test/postgres-base:15, plus STOPSIGNAL)
#   run-test/chaos-helper:latest  Debian bookworm minbase + iproute2, iptables,
#                             python3-minimal, stress-ng: the chaos plugin's
#                             helper (network faults and CPU/memory stress),
#                             labelled run.test.chaos-helper=$CHAOS_HELPER_RECIPE
#
# Then it runs build-ha.sh, which builds the images of the HA dev stack
# (demo/ha: etcd, Patroni, HAProxy, Redis, a client), each rebuilt when its
# recipe changes.
#
# Idempotent (an image is built only if its tag is missing) and safe to run
# concurrently: builds run under an exclusive flock, taken only when something
# is missing, so a run with every image present takes a second and waits for
# nobody.
#
# Environment:
#   RUN_TEST_DEBIAN_MIRROR   override the detected Debian mirror
#   RUN_TEST_IMAGE_CACHE     cache directory (default /var/cache/run-test-images)
#   RUN_TEST_IMAGES_REBUILD  if 1, rebuild the images even if the tags exist
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
POSTGRES_IMAGE=run-test/postgres:15
POSTGRES_BASE_IMAGE=run-test/postgres-base:15
BUSYBOX_IMAGE=run-test/busybox:latest
CHAOS_HELPER_IMAGE=run-test/chaos-helper:latest
# The chaos helper's recipe: bumped when its packages change, so an image
# built before (e.g. without stress-ng) is rebuilt rather than kept.
CHAOS_HELPER_RECIPE=2
CHAOS_HELPER_PACKAGES=(iproute2 iptables python3-minimal stress-ng)
SUITE=bookworm
CACHE=${RUN_TEST_IMAGE_CACHE:-/var/cache/run-test-images}
LOCK=/tmp/run-test-images.lock

say() { echo "images: $*" >&2; }
die() { echo "images: error: $*" >&2; exit 1; }

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

need_rebuild() {
    [ "${RUN_TEST_IMAGES_REBUILD:-0}" = 1 ] || ! have_image "$1" || ! recipe_current "$1"
}

# An image is current unless it is the chaos helper built from another recipe.
recipe_current() {
    [ "$1" != "$CHAOS_HELPER_IMAGE" ] ||
        [ "$(docker image inspect -f '{{index .Config.Labels "run.test.chaos-helper"}}' "$1" 2>/dev/null)" = "$CHAOS_HELPER_RECIPE" ]
}

command -v docker >/dev/null 2>&1 || die "docker CLI not found; these tests need a Docker Engine"
command -v flock >/dev/null 2>&1 || die "flock not found (util-linux)"

base_images_present() {
    ! need_rebuild "$BUSYBOX_IMAGE" && ! need_rebuild "$POSTGRES_IMAGE" &&
        ! need_rebuild "$CHAOS_HELPER_IMAGE"
}
# The HA stack's images, with their own lock (released this one first).
build_ha_images() {
    exec 9>&-
    # RUN_TEST_IMAGES_HA=0: the base images only (tests/engines/podman.sh).
    [ "${RUN_TEST_IMAGES_HA:-1}" != 0 ] || exit 0
    exec bash "$HERE/build-ha.sh"
}

# Fast path: nothing to do here (checked again under the lock).
if base_images_present; then
    say "$BUSYBOX_IMAGE, $POSTGRES_IMAGE and $CHAOS_HELPER_IMAGE present"
    build_ha_images
fi

exec 9>"$LOCK"
if ! flock -n 9; then
    say "waiting for another build (lock $LOCK)"
    flock 9
fi

docker info >/dev/null 2>&1 || die "cannot talk to the Docker Engine (docker info failed)"

# Another run may have built them while this one waited for the lock.
if base_images_present; then
    say "$BUSYBOX_IMAGE, $POSTGRES_IMAGE and $CHAOS_HELPER_IMAGE present"
    build_ha_images
fi

[ "$(id -u)" = 0 ] || die "must run as root to build images (debootstrap, chroot, mount)"
mkdir -p "$CACHE"

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "$@" >&2; then
        say "apt-get install $* failed; running apt-get update and retrying"
        apt-get update >&2
        apt-get install -y --no-install-recommends "$@" >&2
    fi
}

# ---------------------------------------------------------------- mirror ---
# The Debian mirror apt uses for the main suite, from deb822 *.sources files
# ("URIs:" of a stanza whose "Suites:" lists $SUITE) or one-line
# "deb [opts] URI $SUITE components" entries.
detect_mirror() {
    if [ -n "${RUN_TEST_DEBIAN_MIRROR:-}" ]; then
        echo "$RUN_TEST_DEBIAN_MIRROR"
        return
    fi
    local f uri
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        uri=$(awk -v suite="$SUITE" '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && suites ~ ("(^| )" suite "( |$)") && uris != "" && !done) {
                    split(uris, u, " "); print u[1]; done = 1
                }
                types = ""; suites = ""; uris = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            tolower($1) == "types:"  { $1 = ""; types = $0 " " }
            tolower($1) == "suites:" { $1 = ""; suites = $0 " " }
            tolower($1) == "uris:"   { $1 = ""; sub(/^ +/, ""); uris = $0 }
            END { flush() }
        ' "$f")
        if [ -n "$uri" ]; then echo "$uri"; return; fi
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        uri=$(awk -v suite="$SUITE" '
            $1 == "deb" {
                i = 2
                if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                if ($(i + 1) == suite) { print $i; exit }
            }
        ' "$f")
        if [ -n "$uri" ]; then echo "$uri"; return; fi
    done
    return 1
}

# --------------------------------------------------------------- busybox ---
build_busybox() {
    local bb=/bin/busybox
    if ! { [ -x "$bb" ] && ! ldd "$bb" >/dev/null 2>&1; }; then
        say "installing busybox-static on the host"
        apt_install busybox-static
    fi
    [ -x "$bb" ] || die "$bb missing after installing busybox-static"
    if ldd "$bb" >/dev/null 2>&1; then die "$bb is dynamically linked; need busybox-static"; fi

    local root
    root=$(mktemp -d "$CACHE/busybox-root.XXXXXX")
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,proc,sys,dev,root,var/tmp}
    chmod 1777 "$root/tmp" "$root/var/tmp"
    cp "$bb" "$root/bin/busybox"
    chroot "$root" /bin/busybox --install -s /bin
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
    tar --numeric-owner -C "$root" -c . |
        docker import --change 'CMD ["sh"]' - "$BUSYBOX_IMAGE" >/dev/null
    rm -rf "$root"
    say "built $BUSYBOX_IMAGE"
}

# -------------------------------------------------------------- postgres ---
MOUNTED=()
WORK=
unmount_all() {
    local i
    for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
        umount -l "${MOUNTED[$i]}" 2>/dev/null || true
    done
    MOUNTED=()
}
# Remove the work dir, but never while anything is still mounted below it
# (a bind mount of /dev must not be followed by rm -rf).
cleanup_work() {
    unmount_all
    [ -n "$WORK" ] && [ -d "$WORK" ] || return 0
    if grep -qF " $WORK/" /proc/self/mounts; then
        say "warning: mounts left under $WORK; not removing it"
    else
        rm -rf "$WORK"
    fi
    WORK=
}
do_mount() { # do_mount TARGET mount-args...
    local target=$1
    shift
    mount "$@" "$target"
    MOUNTED+=("$target")
}

# The entrypoint baked into the postgres image.
write_entrypoint() {
    cat >"$1" <<'EOF'
#!/bin/sh
# run-test postgres entrypoint: initdb on first start, then exec postgres.
set -eu
PGBIN=/usr/lib/postgresql/15/bin
PGDATA=${PGDATA:-/var/lib/postgresql/data}
export PGDATA

# Non-postgres commands (e.g. `docker run IMAGE sh`) run as given.
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ] && [ "$1" != postgres ]; then
    exec "$@"
fi
[ $# -gt 0 ] && [ "$1" = postgres ] && shift

if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    chmod 2775 /var/run/postgresql
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" postgres "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    echo "run-test-postgres: initialising $PGDATA"
    pwfile=$(mktemp)
    printf '%s\n' "${POSTGRES_PASSWORD:-postgres}" >"$pwfile"
    "$PGBIN/initdb" -D "$PGDATA" -U postgres --pwfile="$pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
    printf 'host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
    echo "run-test-postgres: initialised"
fi

exec "$PGBIN/postgres" -D "$PGDATA" "$@"
EOF
    chmod 755 "$1"
}

build_postgres() {
    if ! command -v debootstrap >/dev/null 2>&1; then
        say "installing debootstrap on the host"
        apt_install debootstrap
    fi
    command -v debootstrap >/dev/null 2>&1 || die "debootstrap not found and could not be installed"

    local mirror
    mirror=$(detect_mirror) || die "cannot find the Debian $SUITE mirror in /etc/apt/sources.list{,.d/*} (set RUN_TEST_DEBIAN_MIRROR)"
    say "Debian mirror: $mirror"

    local key tarball
    key=$(printf '%s' "$mirror" | md5sum | cut -c1-12)
    tarball="$CACHE/$SUITE-minbase-$key.tar"
    local work root
    work=$(mktemp -d "$CACHE/postgres-work.XXXXXX")
    WORK=$work
    root="$work/rootfs"
    trap cleanup_work EXIT
    trap 'exit 130' INT TERM

    if [ -s "$tarball" ]; then
        say "using cached debootstrap $tarball"
        mkdir -p "$root"
        tar --numeric-owner -C "$root" -xpf "$tarball"
    else
        say "debootstrap --variant=minbase $SUITE (this takes a few minutes)"
        if ! debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
            tail -n 30 "$work/debootstrap.log" >&2
            [ -f "$root/debootstrap/debootstrap.log" ] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
            die "debootstrap failed"
        fi
        tar --numeric-owner -C "$root" -cf "$tarball.tmp" .
        mv "$tarball.tmp" "$tarball"
        say "cached $tarball"
    fi

    mkdir -p "$CACHE/apt-archives/partial"
    do_mount "$root/proc" -t proc proc
    do_mount "$root/dev" --bind /dev
    do_mount "$root/var/cache/apt/archives" --bind "$CACHE/apt-archives"
    cp -L /etc/resolv.conf "$root/etc/resolv.conf"
    # No daemons may start inside the chroot.
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"

    # dpkg's fsyncs dominate the install time; the rootfs is throwaway.
    echo 'force-unsafe-io' >"$root/etc/dpkg/dpkg.cfg.d/run-test-unsafe-io"
    local in_root=(chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin
        DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 HOME=/root)
    say "installing postgresql-15 in the chroot"
    # Like the official image: no auto-created cluster; our entrypoint initdb's.
    {
        "${in_root[@]}" apt-get update &&
            "${in_root[@]}" apt-get install -y --no-install-recommends postgresql-common &&
            "${in_root[@]}" sed -ri 's/#?(create_main_cluster) .*$/\1 = false/' /etc/postgresql-common/createcluster.conf &&
            "${in_root[@]}" apt-get install -y --no-install-recommends postgresql-15
    } >"$work/apt.log" 2>&1 || {
        tail -n 40 "$work/apt.log" >&2
        die "installing postgresql-15 in the chroot failed"
    }
    # (No `apt-get clean`: the archives dir is the host cache, kept for rebuilds.)
    unmount_all

    rm -f "$root/usr/sbin/policy-rc.d" "$root/etc/resolv.conf" "$root/etc/dpkg/dpkg.cfg.d/run-test-unsafe-io"
    # Slim down: apt lists/caches, docs, translations, locale sources (C.UTF-8 is built in).
    find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* \
        "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/i18n \
        "$root"/var/cache/debconf/*-old "$root"/var/log/*.log "$root"/tmp/* "$root"/root/.bash_history
    [ -x "$root/usr/lib/postgresql/15/bin/postgres" ] || die "postgresql-15 is not installed in the rootfs"
    mkdir -p "$root/var/lib/postgresql/data" "$root/var/run/postgresql"
    chroot "$root" chown postgres:postgres /var/lib/postgresql /var/lib/postgresql/data /var/run/postgresql
    chmod 700 "$root/var/lib/postgresql/data"
    write_entrypoint "$root/usr/local/bin/run-test-postgres"

    say "importing $POSTGRES_BASE_IMAGE"
    tar --numeric-owner -C "$root" -c . | docker import \
        --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'ENV PGDATA=/var/lib/postgresql/data' \
        --change 'VOLUME /var/lib/postgresql/data' \
        --change 'EXPOSE 5432' \
        --change 'ENTRYPOINT ["/usr/local/bin/run-test-postgres"]' \
        --change 'CMD ["postgres"]' \
        --change 'HEALTHCHECK --interval=1s --timeout=5s --start-period=60s --retries=5 CMD ["pg_isready", "-U", "postgres", "-h", "127.0.0.1"]' \
        - "$POSTGRES_BASE_IMAGE" >/dev/null

    # `docker import --change` accepts HEALTHCHECK but not STOPSIGNAL on this
    # engine (20.10). A metadata-only layer adds STOPSIGNAL SIGINT so that
    # `docker stop` makes postgres do a fast shutdown (disconnect clients,
    # checkpoint) instead of a smart one that waits for every client.
    # The classic builder needs no registry for a local FROM image.
    mkdir -p "$work/ctx"
    printf 'FROM %s\nSTOPSIGNAL SIGINT\n' "$POSTGRES_BASE_IMAGE" >"$work/ctx/Dockerfile"
    if ! DOCKER_BUILDKIT=0 docker build -q -t "$POSTGRES_IMAGE" "$work/ctx" >"$work/build.log" 2>&1; then
        cat "$work/build.log" >&2
        say "warning: docker build failed; tagging $POSTGRES_BASE_IMAGE as $POSTGRES_IMAGE (docker stop will do a smart shutdown)"
        docker tag "$POSTGRES_BASE_IMAGE" "$POSTGRES_IMAGE"
    fi
    say "built $POSTGRES_IMAGE"

    cleanup_work
    trap - EXIT INT TERM
}

# ---------------------------------------------------------- chaos helper ---
# The chaos plugin's network helper: started with the target's network
# namespace and NET_ADMIN, it runs tc and iptables there (and a small TCP
# proxy in python3 for latency where the kernel has no netem). Built from the
# same cached debootstrap tarball as the postgres image.
build_chaos_helper() {
    command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
    local mirror key tarball work root
    mirror=$(detect_mirror) || die "cannot find the Debian $SUITE mirror (set RUN_TEST_DEBIAN_MIRROR)"
    key=$(printf '%s' "$mirror" | md5sum | cut -c1-12)
    tarball="$CACHE/$SUITE-minbase-$key.tar"
    work=$(mktemp -d "$CACHE/chaos-helper-work.XXXXXX")
    WORK=$work
    root="$work/rootfs"
    trap cleanup_work EXIT
    trap 'exit 130' INT TERM
    mkdir -p "$root"
    if [ -s "$tarball" ]; then
        tar --numeric-owner -C "$root" -xpf "$tarball"
    else
        debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
            { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
        tar --numeric-owner -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    fi
    mkdir -p "$CACHE/apt-archives/partial"
    do_mount "$root/proc" -t proc proc
    do_mount "$root/dev" --bind /dev
    do_mount "$root/var/cache/apt/archives" --bind "$CACHE/apt-archives"
    cp -L /etc/resolv.conf "$root/etc/resolv.conf"
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
    echo 'force-unsafe-io' >"$root/etc/dpkg/dpkg.cfg.d/run-test-unsafe-io"
    local in_root=(chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin
        DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 HOME=/root)
    {
        "${in_root[@]}" apt-get update &&
            "${in_root[@]}" apt-get install -y --no-install-recommends "${CHAOS_HELPER_PACKAGES[@]}"
    } >"$work/apt.log" 2>&1 || {
        tail -n 40 "$work/apt.log" >&2
        die "installing ${CHAOS_HELPER_PACKAGES[*]} in the chroot failed"
    }
    unmount_all
    rm -f "$root/usr/sbin/policy-rc.d" "$root/etc/resolv.conf" "$root/etc/dpkg/dpkg.cfg.d/run-test-unsafe-io"
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* \
        "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/i18n "$root"/tmp/*
    tar --numeric-owner -C "$root" -c . |
        docker import --change 'CMD ["sleep", "infinity"]' \
            --change "LABEL run.test.chaos-helper=$CHAOS_HELPER_RECIPE" - "$CHAOS_HELPER_IMAGE" >/dev/null
    cleanup_work
    trap - EXIT INT TERM
    say "built $CHAOS_HELPER_IMAGE"
}

# With RUN_TEST_IMAGES_REBUILD=1, drop the images the new tags replaced
# (fails harmlessly if a container still uses one).
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }
drop_replaced() { # drop_replaced OLD_ID TAG
    [ -n "$1" ] && [ "$1" != "$(image_id "$2")" ] && docker rmi "$1" >/dev/null 2>&1 || true
}

if need_rebuild "$BUSYBOX_IMAGE"; then
    say "building $BUSYBOX_IMAGE"
    SECONDS=0
    old=$(image_id "$BUSYBOX_IMAGE")
    build_busybox
    drop_replaced "$old" "$BUSYBOX_IMAGE"
    say "$BUSYBOX_IMAGE took ${SECONDS}s"
else
    say "$BUSYBOX_IMAGE present"
fi

if need_rebuild "$POSTGRES_IMAGE"; then
    say "building $POSTGRES_IMAGE"
    SECONDS=0
    old=$(image_id "$POSTGRES_IMAGE")
    old_base=$(image_id "$POSTGRES_BASE_IMAGE")
    build_postgres
    drop_replaced "$old" "$POSTGRES_IMAGE"
    drop_replaced "$old_base" "$POSTGRES_BASE_IMAGE"
    say "$POSTGRES_IMAGE took ${SECONDS}s"
else
    say "$POSTGRES_IMAGE present"
fi

if need_rebuild "$CHAOS_HELPER_IMAGE"; then
    say "building $CHAOS_HELPER_IMAGE"
    SECONDS=0
    old=$(image_id "$CHAOS_HELPER_IMAGE")
    build_chaos_helper
    drop_replaced "$old" "$CHAOS_HELPER_IMAGE"
    say "$CHAOS_HELPER_IMAGE took ${SECONDS}s"
else
    say "$CHAOS_HELPER_IMAGE present"
fi

build_ha_images
