# Shared by every command script; postgres-replication prepends it to each script's text.
# Inputs come from environment variables only; secrets are never passed as arguments.
set -euo pipefail

log() { printf '%s\n' "$*" >&2; }
fail() {
  log "error: $*"
  exit 1
}

require_env() {
  local name
  for name in "$@"; do
    [ -n "${!name:-}" ] || fail "environment variable $name is not set"
  done
}

container_exists() { docker container inspect "$1" >/dev/null 2>&1; }
container_running() { [ "$(docker container inspect -f '{{.State.Status}}' "$1" 2>/dev/null)" = running ]; }

# A container in state but removed outside Pulumi is only re-created by a refresh; waiting
# for it would only end in a timeout.
require_container() {
  container_exists "$1" ||
    fail "container $1 does not exist (removed outside Pulumi?); run \`pulumi up --refresh\` to re-create it from its volume"
}

# wait_accepting SECONDS CONTAINER: until it accepts SQL; fails at once when it does not exist.
wait_accepting() {
  require_container "$2"
  wait_for "$1" "$2 to accept connections" accepts_sql "$2"
}

# SQL as the superuser over the container's local socket (peer authentication: no password).
# Administrative writes commit locally: they must not wait for synchronous standbys, which
# may not exist yet (first deployment) or may be the very thing being repaired.
psql_in() {
  local container=$1
  shift
  docker exec -i -u postgres -e PGOPTIONS='-c synchronous_commit=local' "$container" \
    psql -X -q -At -v ON_ERROR_STOP=1 -U "$SUPERUSER" -d postgres "$@"
}

accepts_sql() { psql_in "$1" -c 'select 1' >/dev/null 2>&1; }
in_recovery() { [ "$(psql_in "$1" -c 'select pg_is_in_recovery()')" = t ]; }

# Pause between two tries of a wait. Most waits end within a second or two, so a whole
# second between tries is mostly time spent doing nothing on the deployment's critical path;
# each try is a docker exec, which already paces the loop.
POLL_SECONDS=0.1

# wait_for SECONDS DESCRIPTION COMMAND...: retry COMMAND every POLL_SECONDS until it succeeds.
wait_for() {
  local seconds=$1 description=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    if ((SECONDS >= deadline)); then
      log "gave up after ${seconds}s waiting for $description"
      return 1
    fi
    sleep "$POLL_SECONDS"
  done
}

# run_instance_script ACTION [ARG...]: /config/instance.sh in a throwaway container on an
# instance's volumes.
run_instance_script() {
  local mounts=(-v "$DATA_VOLUME:/data" -v "$CONFIG_VOLUME:/config")
  if [ -n "${ARCHIVE_VOLUME:-}" ]; then mounts+=(-v "$ARCHIVE_VOLUME:/mnt/server/archive"); fi
  docker run --rm --network "$NETWORK" --user root --entrypoint /bin/sh \
    --label "postgres-replication.cluster=$CLUSTER" "${mounts[@]}" \
    "$IMAGE" /config/instance.sh "$@"
}
