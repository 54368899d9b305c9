#!/usr/bin/env bash
# Builds the images of the HA dev stack (demo/ha/compose.yaml) from Debian
# bookworm packages, without any registry, the way build.sh builds PostgreSQL:
# debootstrap --variant=minbase (cached), apt-get install --no-install-recommends
# in a chroot, `docker import`.
#
#   run-test/etcd:3.4         etcd-server
#   run-test/patroni:15       patroni 3.0 + postgresql-15 (pg_rewind) + python3-etcd
#   run-test/haproxy:2.6      haproxy
#   run-test/redis:7.0        redis-server and redis-sentinel
#   run-test/ha-client:latest psql, redis-cli, curl, jq and the drills' load scripts
#
# Each image is described by a directory tests/images/ha/NAME/: `recipe` (its
# tag, packages and image settings) and `rootfs/` (files copied in), plus the
# files every image shares in tests/images/ha/common/rootfs/. The image carries
# the digest of its recipe in the label `run.test.recipe`: an image is rebuilt
# when its tag is missing or its recipe changed, and otherwise left alone, so
# a run with every image up to date takes a second and needs no root.
#
# Safe to run concurrently: builds run under an exclusive flock on
# /tmp/run-test-images-ha.lock (not build.sh's lock, so that a long HA build
# never holds up the tests that only need build.sh's images).
#
#   bash tests/images/build-ha.sh [NAME...]   (default: every image in ha/)
#
# Environment:
#   RUN_TEST_DEBIAN_MIRROR   override the detected Debian mirror
#   RUN_TEST_IMAGE_CACHE     cache directory (default /var/cache/run-test-images)
#   RUN_TEST_IMAGES_REBUILD  if 1, rebuild the images even if they are up to date
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RECIPES=$HERE/ha
SUITE=bookworm
CACHE=${RUN_TEST_IMAGE_CACHE:-/var/cache/run-test-images}
LOCK=/tmp/run-test-images-ha.lock
LABEL=run.test.recipe

say() { echo "images: $*" >&2; }
die() { echo "images: error: $*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker CLI not found; these images need a Docker Engine"
command -v flock >/dev/null 2>&1 || die "flock not found (util-linux)"

if [ $# -gt 0 ]; then
    NAMES=("$@")
else
    NAMES=()
    for d in "$RECIPES"/*/; do
        d=${d%/}
        [ -f "$d/recipe" ] && NAMES+=("${d##*/}")
    done
fi
for name in "${NAMES[@]}"; do
    [ -f "$RECIPES/$name/recipe" ] || die "no image recipe $RECIPES/$name/recipe"
done

# ------------------------------------------------------------ recipes ---
# A recipe is a bash fragment that sets:
#   TAG       the image tag
#   PACKAGES  Debian packages, installed with --no-install-recommends
#   CHANGES   `docker import --change` instructions (ENV, ENTRYPOINT, CMD, USER, ...)
# and may define, run on the host with the rootfs in $ROOT:
#   pre_install   before PACKAGES are installed (e.g. configure postgresql-common)
#   post_install  after the files of rootfs/ are copied in
# `in_root CMD...` runs a command in the chroot.
recipe_tag() { (
    # shellcheck source=/dev/null
    . "$RECIPES/$1/recipe"
    echo "$TAG"
); }

# The digest of everything an image is made from: its recipe directory, the
# shared files and this script's build steps (not its comments), so editing
# any of them rebuilds the image and nothing else does.
recipe_digest() {
    local name=$1
    {
        echo "suite $SUITE"
        declare -f prepare_rootfs install_packages finish_rootfs build_image
        local dir
        for dir in "$RECIPES/common" "$RECIPES/$name"; do
            (
                cd "$dir"
                find . -type f -printf '%p %m\n' | LC_ALL=C sort
                find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
            )
        done
    } | sha256sum | cut -c1-16
}

image_label() {
    docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null || true
}

# Prints the names whose image is missing or stale.
stale_images() {
    local name tag
    for name in "${NAMES[@]}"; do
        tag=$(recipe_tag "$name")
        if [ "${RUN_TEST_IMAGES_REBUILD:-0}" = 1 ] ||
            [ "$(image_label "$tag")" != "$(recipe_digest "$name")" ]; then
            echo "$name"
        fi
    done
}

# ------------------------------------------------------------- rootfs ---
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

apt_install_host() {
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "$@" >&2; then
        say "apt-get install $* failed; running apt-get update and retrying"
        apt-get update >&2
        apt-get install -y --no-install-recommends "$@" >&2
    fi
}

# The Debian mirror apt uses for $SUITE; same rules as build.sh.
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

in_root() {
    chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 HOME=/root "$@"
}

# The cached debootstrap tarball (shared with build.sh: same name, written
# atomically) unpacked into $ROOT, with /proc, /dev and the apt caches mounted.
# The package lists are shared by the images (a second `apt-get update` only
# checks that they are current).
prepare_rootfs() {
    local mirror key tarball
    mirror=$(detect_mirror) || die "cannot find the Debian $SUITE mirror in /etc/apt/sources.list{,.d/*} (set RUN_TEST_DEBIAN_MIRROR)"
    key=$(printf '%s' "$mirror" | md5sum | cut -c1-12)
    tarball="$CACHE/$SUITE-minbase-$key.tar"
    mkdir -p "$ROOT"
    if [ -s "$tarball" ]; then
        tar --numeric-owner -C "$ROOT" -xpf "$tarball"
    else
        say "debootstrap --variant=minbase $SUITE from $mirror (this takes a few minutes)"
        debootstrap --variant=minbase "$SUITE" "$ROOT" "$mirror" >"$WORK/debootstrap.log" 2>&1 || {
            tail -n 30 "$WORK/debootstrap.log" >&2
            die "debootstrap failed"
        }
        tar --numeric-owner -C "$ROOT" -cf "$tarball.tmp.$$" . && mv "$tarball.tmp.$$" "$tarball"
        say "cached $tarball"
    fi
    mkdir -p "$CACHE/ha-apt-archives/partial" "$CACHE/ha-apt-lists-$key/partial"
    do_mount "$ROOT/proc" -t proc proc
    do_mount "$ROOT/dev" --bind /dev
    do_mount "$ROOT/var/cache/apt/archives" --bind "$CACHE/ha-apt-archives"
    do_mount "$ROOT/var/lib/apt/lists" --bind "$CACHE/ha-apt-lists-$key"
    cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
    # No daemons may start inside the chroot.
    printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
    chmod 755 "$ROOT/usr/sbin/policy-rc.d"
    # dpkg's fsyncs dominate the install time; the rootfs is throwaway.
    echo 'force-unsafe-io' >"$ROOT/etc/dpkg/dpkg.cfg.d/run-test-unsafe-io"
    in_root apt-get update >>"$WORK/apt.log" 2>&1 || {
        tail -n 40 "$WORK/apt.log" >&2
        die "apt-get update in the chroot failed"
    }
}

install_packages() { # install_packages PACKAGE...
    in_root apt-get install -y --no-install-recommends "$@" >>"$WORK/apt.log" 2>&1 || {
        tail -n 40 "$WORK/apt.log" >&2
        die "installing $* in the chroot failed"
    }
}

# Unmounts, removes what only the build needed, and slims the rootfs: apt
# lists and caches (debootstrap's packages too), docs, man pages,
# translations (C.UTF-8 is built in).
finish_rootfs() {
    unmount_all
    if grep -qF " $ROOT/" /proc/self/mounts; then die "mounts left under $ROOT"; fi
    # The packages debootstrap downloaded (under the apt cache mount point).
    rm -f "$ROOT"/var/cache/apt/archives/*.deb
    rm -f "$ROOT/usr/sbin/policy-rc.d" "$ROOT/etc/resolv.conf" "$ROOT/etc/dpkg/dpkg.cfg.d/run-test-unsafe-io"
    find "$ROOT/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/usr/share/doc/* \
        "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/usr/share/i18n \
        "$ROOT"/var/cache/debconf/*-old "$ROOT"/var/log/*.log "$ROOT"/var/log/apt/* \
        "$ROOT"/tmp/* "$ROOT"/root/.bash_history
}

# Builds one image in a subshell (its traps and mounts end with it).
build_image() { (
    local name=$1 digest=$2
    TAG=
    PACKAGES=()
    CHANGES=()
    # shellcheck source=/dev/null
    . "$RECIPES/$name/recipe"
    if [ -z "$TAG" ] || [ ${#PACKAGES[@]} -eq 0 ]; then
        die "$RECIPES/$name/recipe must set TAG and PACKAGES"
    fi

    WORK=$(mktemp -d "$CACHE/ha-$name-work.XXXXXX")
    ROOT=$WORK/rootfs
    trap cleanup_work EXIT
    trap 'exit 130' INT TERM

    prepare_rootfs
    if declare -F pre_install >/dev/null; then pre_install; fi
    say "$TAG: installing ${PACKAGES[*]}"
    install_packages "${PACKAGES[@]}"
    # (The archives dir is the host cache, kept for rebuilds: no `apt-get clean`.)
    finish_rootfs
    cp -a --no-preserve=ownership "$RECIPES/common/rootfs/." "$ROOT/"
    [ -d "$RECIPES/$name/rootfs" ] && cp -a --no-preserve=ownership "$RECIPES/$name/rootfs/." "$ROOT/"
    if declare -F post_install >/dev/null; then post_install; fi

    local args=(--change "LABEL $LABEL=$digest" --change 'ENV LANG=C.UTF-8')
    local change
    for change in "${CHANGES[@]}"; do
        # One port per EXPOSE: Podman's import takes no list.
        if [[ $change == EXPOSE\ * ]]; then
            local port
            for port in ${change#EXPOSE }; do args+=(--change "EXPOSE $port"); done
        else
            args+=(--change "$change")
        fi
    done
    tar --numeric-owner -C "$ROOT" -c . | docker import "${args[@]}" - "$TAG" >/dev/null
); }

# ---------------------------------------------------------------- main ---
mapfile -t STALE < <(stale_images)
if [ ${#STALE[@]} -eq 0 ]; then
    say "HA images up to date: $(for n in "${NAMES[@]}"; do printf '%s ' "$(recipe_tag "$n")"; done)"
    exit 0
fi

exec 9>"$LOCK"
if ! flock -n 9; then
    say "waiting for another HA image build (lock $LOCK)"
    flock 9
fi
docker info >/dev/null 2>&1 || die "cannot talk to the Docker Engine (docker info failed)"

# Another run may have built them while this one waited for the lock.
mapfile -t STALE < <(stale_images)
if [ ${#STALE[@]} -eq 0 ]; then
    say "HA images built meanwhile by another run"
    exit 0
fi

[ "$(id -u)" = 0 ] || die "must run as root to build ${STALE[*]} (debootstrap, chroot, mount)"
command -v debootstrap >/dev/null 2>&1 || apt_install_host debootstrap
mkdir -p "$CACHE"

for name in "${STALE[@]}"; do
    tag=$(recipe_tag "$name")
    old=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
    say "building $tag"
    SECONDS=0
    build_image "$name" "$(recipe_digest "$name")"
    # Drop the image the new tag replaced (fails harmlessly while a container uses it).
    new=$(docker image inspect -f '{{.Id}}' "$tag")
    if [ -n "$old" ] && [ "$old" != "$new" ]; then docker rmi "$old" >/dev/null 2>&1 || true; fi
    say "built $tag in ${SECONDS}s ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%d MB", $1 / 1e6}'))"
done
