#!/usr/bin/env bash
# Make sure a Docker daemon answers on this machine.
#
# Idempotent: when `docker info` already works nothing is touched. On a fresh CI machine the
# daemon comes from Debian's docker.io package and is started by hand in the background,
# because CI containers have no init system to start it for us.
set -euo pipefail

DOCKERD_LOG="${DOCKERD_LOG:-/var/log/dockerd-postgres-replication.log}"
DOCKER_WAIT_SECONDS="${DOCKER_WAIT_SECONDS:-60}"

log() { printf '[ensure-docker] %s\n' "$*"; }

docker_answers() {
  command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

if docker_answers; then
  log "docker already answers (server $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')); nothing to do"
  exit 0
fi

if [[ "$(id -u)" != 0 ]]; then
  log "ERROR: docker does not answer and installing/starting dockerd needs root" >&2
  exit 1
fi

# The docker CLI may already be present (e.g. a newer client in /usr/local/bin) without a
# daemon; API version negotiation lets it talk to Debian's older dockerd, so only the daemon
# decides whether we install the package.
if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  log "dockerd or docker CLI missing: apt-get update"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  log "installing docker.io from Debian's archive"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    docker.io iptables ca-certificates >/dev/null
else
  log "dockerd present at $(command -v dockerd)"
fi

# dockerd writes /var/run/docker.pid; a live pid there means a daemon is still coming up
# (starting a second one would fail on the lock), a dead one is a leftover that would block us.
if [[ -f /var/run/docker.pid ]] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
  log "dockerd (pid $(cat /var/run/docker.pid)) is already running; waiting for it"
else
  rm -f /var/run/docker.pid
  log "starting dockerd in the background (log: $DOCKERD_LOG)"
  mkdir -p "$(dirname "$DOCKERD_LOG")"
  # setsid detaches the daemon from this script's session so it outlives the caller.
  setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
fi

log "waiting up to ${DOCKER_WAIT_SECONDS}s for docker info"
deadline=$((SECONDS + DOCKER_WAIT_SECONDS))
until docker_answers; do
  if ((SECONDS >= deadline)); then
    log "ERROR: docker did not answer within ${DOCKER_WAIT_SECONDS}s; last lines of $DOCKERD_LOG:" >&2
    tail -n 30 "$DOCKERD_LOG" >&2 2>/dev/null || true
    exit 1
  fi
  sleep 1
done
log "docker answers (server $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
