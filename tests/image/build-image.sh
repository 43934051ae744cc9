#!/usr/bin/env bash
# Build the local postgres:15-compatible image the live tests run against.
#
# No registry is reachable from the test machines, so the image is made from Debian packages:
# debootstrap a bookworm root with PostgreSQL 15, add the project's own entrypoint, and
# `docker import` it. The build is skipped when the tag already exists (FORCE_REBUILD=1 to
# rebuild).
#
# Environment:
#   TEST_IMAGE     tag to build (default postgres-replication-test:15)
#   FORCE_REBUILD  1 = rebuild even if the tag exists
#   DEBIAN_MIRROR  override the mirror; by default it is read from this machine's apt sources
#   BUILD_LOG      where debootstrap's verbose output goes (kept after a failure)
set -euo pipefail

readonly TAG="${TEST_IMAGE:-postgres-replication-test:15}"
readonly SUITE=bookworm
# Besides PostgreSQL: the engines the HA and backup features run (Patroni with etcd's v3 API,
# HAProxy, pgBackRest and cron), so tests never wait for the program to build its derived images.
readonly PACKAGES=postgresql-15,postgresql-client-15,locales,procps,patroni,python3-etcd,python3-psycopg2,etcd-server,etcd-client,haproxy,pgbackrest,cron
# What an existing tag must carry to be reused; an older build without them is rebuilt.
readonly REQUIRED_TOOLS="postgres pg_basebackup patroni etcd etcdctl haproxy pgbackrest cron"
readonly BUILD_LOG="${BUILD_LOG:-/tmp/postgres-replication-image-build.log}"
readonly LOCK_FILE=/tmp/postgres-replication-image-build.lock
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR

started=$SECONDS
log() { printf '[build-image] %s\n' "$*"; }
die() {
  printf '[build-image] ERROR: %s\n' "$*" >&2
  exit 1
}

image_exists() {
  docker image inspect "$TAG" >/dev/null 2>&1 || return 1
  # shellcheck disable=SC2016 # expanded inside the container
  docker run --rm --entrypoint /bin/sh "$TAG" -c \
    'for t in $0; do command -v "$t" >/dev/null || exit 1; done' "$REQUIRED_TOOLS" >/dev/null 2>&1
}

# The first URI of the deb entry that serves "$SUITE" itself (not -security/-updates), from
# deb822 *.sources files first, then the one-line sources.list format.
apt_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    uri="$(awk -v suite="$SUITE" '
      BEGIN { RS = ""; FS = "\n" }
      {
        types = ""; uris = ""; suites = ""
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^[ \t]*#/) continue
          key = tolower(line); sub(/:.*/, "", key)
          val = line; sub(/^[^:]*:[ \t]*/, "", val)
          if (key == "types") types = val
          else if (key == "uris") uris = val
          else if (key == "suites") suites = val
        }
        if ((" " types " ") ~ / deb / && (" " suites " ") ~ (" " suite " ")) {
          split(uris, u, /[ \t]+/); print u[1]; exit
        }
      }' "$f")"
    if [[ -n "$uri" ]]; then
      printf '%s\n' "$uri"
      return 0
    fi
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    # deb [options] URI suite components...
    uri="$(sed -E 's/\[[^]]*\]//' "$f" |
      awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }')"
    if [[ -n "$uri" ]]; then
      printf '%s\n' "$uri"
      return 0
    fi
  done
  return 1
}

# Anything debootstrap left mounted inside the root (proc, sys, ...) must go before rm -rf.
unmount_under() {
  local root="$1" mnt
  while read -r mnt; do
    umount -l "$mnt" 2>/dev/null || true
  done < <(awk -v r="$root/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r)
}

workdir=""
cleanup() {
  if [[ -n "$workdir" && -d "$workdir" ]]; then
    unmount_under "$workdir"
    rm -rf --one-file-system "$workdir"
  fi
}
trap cleanup EXIT

command -v docker >/dev/null 2>&1 || die "docker CLI not found; run tests/env/ensure-docker.sh first"
docker info >/dev/null 2>&1 || die "docker does not answer; run tests/env/ensure-docker.sh first"

if [[ "${FORCE_REBUILD:-0}" != 1 ]] && image_exists; then
  log "image $TAG already exists with every engine; skipping the build (FORCE_REBUILD=1 to rebuild)"
  exit 0
fi

# Two callers (e.g. parallel test setups) must not debootstrap twice at the same time.
exec 9>"$LOCK_FILE"
if ! flock -n 9; then
  log "another build holds $LOCK_FILE; waiting for it"
  flock 9
  if [[ "${FORCE_REBUILD:-0}" != 1 ]] && image_exists; then
    log "image $TAG was built meanwhile; done"
    exit 0
  fi
fi

[[ "$(id -u)" == 0 ]] || die "debootstrap needs root"

# On a forced rebuild the old image would linger untagged; remember it to remove it at the end.
previous_id="$(docker image inspect --format '{{.Id}}' "$TAG" 2>/dev/null || true)"

if ! command -v debootstrap >/dev/null 2>&1; then
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

mirror="${DEBIAN_MIRROR:-}"
if [[ -z "$mirror" ]]; then
  mirror="$(apt_mirror)" || die "no '$SUITE' entry found in /etc/apt/sources.list(.d); set DEBIAN_MIRROR"
fi
log "mirror: $mirror (from ${DEBIAN_MIRROR:+DEBIAN_MIRROR}${DEBIAN_MIRROR:-apt sources})"

# /var/tmp rather than /tmp: /tmp is often a tmpfs mounted nodev/noexec, which debootstrap's
# chroot cannot use.
workdir="$(mktemp -d /var/tmp/postgres-replication-image.XXXXXX)"
root="$workdir/root"

keyring_args=()
if [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]]; then
  keyring_args=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
fi

log "debootstrap $SUITE (minbase + $PACKAGES) into $root; details in $BUILD_LOG"
step=$SECONDS
if ! debootstrap --variant=minbase --include="$PACKAGES" "${keyring_args[@]}" \
  "$SUITE" "$root" "$mirror" >"$BUILD_LOG" 2>&1; then
  tail -n 30 "$BUILD_LOG" >&2
  die "debootstrap failed (full log: $BUILD_LOG)"
fi
log "debootstrap done in $((SECONDS - step))s"

# The project's postgresql.conf sets lc_messages='en_US.utf8', as the official image allows.
log "generating the en_US.UTF-8 locale"
chroot "$root" localedef -i en_US -c -f UTF-8 -A /usr/share/locale/locale.alias en_US.UTF-8

log "removing the Debian-created cluster and preparing directories"
# The entrypoint creates the cluster in PGDATA; Debian's own main cluster would only confuse.
rm -rf "$root/var/lib/postgresql/15" "$root/etc/postgresql"/*
# Later package installs in derived images must not create a cluster either.
sed -ri 's/^#?[[:space:]]*create_main_cluster[[:space:]]*=.*/create_main_cluster = false/' \
  "$root/etc/postgresql-common/createcluster.conf"
# Like the official image: a cluster made without a config file of its own listens on all
# interfaces, so published ports work.
sed -ri "s/^#?(listen_addresses)[[:space:]]*=[[:space:]]*'[^']*'/\\1 = '*'/" \
  "$root/usr/share/postgresql/15/postgresql.conf.sample"
grep -q "^listen_addresses = '\*'" "$root/usr/share/postgresql/15/postgresql.conf.sample" ||
  die "could not set listen_addresses in postgresql.conf.sample"
chroot "$root" install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data
chroot "$root" install -d -o postgres -g postgres -m 3777 /var/run/postgresql
mkdir -p "$root/docker-entrypoint-initdb.d"
install -m 0755 "$SCRIPT_DIR/entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"

log "cleaning apt caches"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/tmp/* \
  "$root"/var/log/apt/* "$root"/var/cache/debconf/*-old "$root"/usr/share/man/*

# Fail here rather than in a test if a tool the project relies on is missing.
for tool in usr/lib/postgresql/15/bin/{postgres,initdb,pg_ctl,pg_basebackup,pg_rewind,pg_controldata,pg_isready,psql} \
  usr/bin/{cmp,bash,sed,grep,setpriv,gzip,patroni,etcd,etcdctl,pgbackrest} usr/sbin/{haproxy,cron}; do
  [[ -x "$root/$tool" ]] || die "missing /$tool in the image root"
done

log "importing the root as $TAG"
step=$SECONDS
# docker import cannot set STOPSIGNAL on older daemons (Debian's 20.10 rejects it), so the
# root is imported under a helper tag and a one-line build adds STOPSIGNAL SIGINT: `docker
# stop` must make PostgreSQL do a fast shutdown, not the smart one SIGTERM asks for.
rootfs_tag="${TAG}-rootfs"
# Numeric owners: the image's postgres uid comes from the image's /etc/passwd, not the host's.
tar --numeric-owner -C "$root" --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* -c . |
  docker import \
    -c 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
    -c 'CMD ["postgres"]' \
    -c 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV PGDATA=/var/lib/postgresql/data' \
    -c 'ENV LANG=en_US.utf8' \
    -c 'EXPOSE 5432' \
    - "$rootfs_tag" >/dev/null
# The classic builder works offline with a local FROM image and needs no buildx plugin; the
# Dockerfile comes on stdin, so there is no build context to send.
printf 'FROM %s\nSTOPSIGNAL SIGINT\n' "$rootfs_tag" |
  DOCKER_BUILDKIT=0 docker build --quiet --tag "$TAG" - >/dev/null 2>"$workdir/build.err" || {
  cat "$workdir/build.err" >&2
  die "docker build (STOPSIGNAL) failed"
}
# Only the helper tag goes; its layer stays as the parent of $TAG.
docker image rm "$rootfs_tag" >/dev/null
[[ "$(docker image inspect --format '{{.Config.StopSignal}}' "$TAG")" == SIGINT ]] ||
  die "$TAG has no STOPSIGNAL SIGINT"
log "import done in $((SECONDS - step))s"

if [[ -n "$previous_id" && "$previous_id" != "$(docker image inspect --format '{{.Id}}' "$TAG")" ]]; then
  # Fails harmlessly while a container still uses it.
  if docker image rm "$previous_id" >/dev/null 2>&1; then
    log "removed the previous image ${previous_id#sha256:}"
  else
    log "kept the previous image ${previous_id#sha256:} (still in use)"
  fi
fi

version="$(docker run --rm --entrypoint postgres "$TAG" --version)"
size="$(docker image inspect --format '{{.Size}}' "$TAG")"
log "built $TAG: $version, $((size / 1024 / 1024)) MB, total $((SECONDS - started))s"
