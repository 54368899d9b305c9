#!/usr/bin/env bash
# Prepares this machine for rootless Podman, as a fresh CI machine needs it
# (run as root; idempotent: each piece is added only when missing):
#   - Debian's uidmap (newuidmap/newgidmap map the user's subordinate ids)
#     and slirp4netns (the user's containers' network);
#   - a user, NAME (default podrunner), with ranges in /etc/subuid and
#     /etc/subgid;
#   - /dev/net/tun open to users, as distributions ship it (slirp4netns
#     opens it; container-made /dev trees often leave it 0600).
# Then `RUN_TEST_PODMAN_USER=NAME bash tests/engines/podman.sh ...` runs the
# tests against that user's Podman (docs/container.md#podman).
#
#   bash tests/engines/rootless-user.sh [NAME]
set -euo pipefail

user=${1:-podrunner}
[ "$(id -u)" = 0 ] || { echo "rootless-user.sh sets up users and packages: run it as root" >&2; exit 1; }

missing=()
command -v newuidmap >/dev/null 2>&1 || missing+=(uidmap)
command -v slirp4netns >/dev/null 2>&1 || missing+=(slirp4netns)
command -v podman >/dev/null 2>&1 || missing+=(podman)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! getent passwd "$user" >/dev/null; then
    useradd --create-home --shell /usr/sbin/nologin "$user"
fi
home=$(getent passwd "$user" | cut -d: -f6)
[ -d "$home" ] || install -d -o "$user" -g "$(id -gn "$user")" -m 755 "$home"

# 65536 ids each, after every range already given out, so no two users share
# ids (useradd gives ranges itself on some systems: then this is a no-op).
for file in /etc/subuid /etc/subgid; do
    touch "$file"
    if ! grep -q "^$user:" "$file"; then
        start=$(awk -F: 'BEGIN { end = 100000 } { if ($2 + $3 > end) end = $2 + $3 } END { print end }' "$file")
        echo "$user:$start:65536" >>"$file"
    fi
done

if [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
    chmod 666 /dev/net/tun
fi

echo "rootless Podman user: $user ($(grep "^$user:" /etc/subuid), $(runuser -u "$user" -- podman --version 2>/dev/null || echo 'podman not runnable'))"
