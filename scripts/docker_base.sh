#!/bin/sh
# Builds a local Debian bookworm base image, papertrail-base:bookworm, from a Debian apt mirror with debootstrap.
#
# ONLY for machines that cannot pull from Docker Hub (so `FROM python:3.11-slim` fails). Everyone else: ignore this
# script and run `docker compose up --build`. See docs/docker.md.
#
# The image has bookworm's python3 (3.11) with python3-venv and python3-pip, ca-certificates, and libgomp1 (OpenMP,
# which faiss-cpu and torch load at run time). The Dockerfile installs everything else into /opt/venv.
#
# Idempotent: does nothing when the image already exists (FORCE=1 rebuilds it). Needs root and a running docker daemon.
#   MIRROR=http://deb.debian.org/debian  SUITE=bookworm  IMAGE=papertrail-base:bookworm  ROOTFS=/var/tmp/papertrail-rootfs
set -eu

MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=${SUITE:-bookworm}
IMAGE=${IMAGE:-papertrail-base:bookworm}
ROOTFS=${ROOTFS:-/var/tmp/papertrail-rootfs}
PACKAGES=python3,python3-venv,python3-pip,ca-certificates,libgomp1

if [ "${FORCE:-0}" != 1 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "$IMAGE already exists (FORCE=1 to rebuild it)"
    exit 0
fi

command -v debootstrap >/dev/null 2>&1 || { apt-get update && apt-get install -y debootstrap; }

rm -rf "$ROOTFS"
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOTFS" "$MIRROR"

# Slim it the way Debian's docker images are: no apt lists, caches, docs or man pages.
chroot "$ROOTFS" apt-get clean
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/usr/share/doc/* \
       "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* "$ROOTFS"/var/log/*.log
# debootstrap writes the host's resolv.conf; docker bind-mounts its own over it in every container.
: > "$ROOTFS"/etc/resolv.conf

tar -C "$ROOTFS" --numeric-owner -c . \
    | docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' - "$IMAGE"
rm -rf "$ROOTFS"
docker image ls "$IMAGE"
