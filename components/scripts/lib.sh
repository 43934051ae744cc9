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

# ask CONTAINER SQL: sets `answer` to what the query printed and `error` to the last lines of
# its errors, kept apart: a warning of the docker CLI must not change an answer.
ask() {
  local errors status=0
  errors=$(mktemp)
  answer=$(psql_in "$1" -c "$2" 2>"$errors") || status=$?
  error=$(tail -n 2 "$errors")
  rm -f "$errors"
  return "$status"
}
in_recovery() { [ "$(psql_in "$1" -c 'select pg_is_in_recovery()')" = t ]; }

# wait_recovery_state SECONDS CONTAINER: wait_accepting, and sets `recovery` to what the same
# query answered (t or f): one docker exec less than a wait followed by in_recovery.
recovery_state() { ask "$1" 'select pg_is_in_recovery()' && recovery=$answer; }
wait_recovery_state() {
  require_container "$2"
  wait_for "$1" "$2 to accept connections" recovery_state "$2"
}

# Pauses between the tries of a wait. Most waits end within a second, so the first tries come
# quickly; a long wait (a server starting, a clone) then tries twice a second, because every
# try is a docker exec, and on a busy machine ten of them a second per waiting step took the
# CPU from the very servers being waited for.
POLL_PAUSES=(0.1 0.1 0.1 0.2 0.2 0.3 0.5)

# poll_pause TRY: sleeps the pause after the TRY-th failed try (counted from 0).
poll_pause() {
  local last=$((${#POLL_PAUSES[@]} - 1))
  sleep "${POLL_PAUSES[$(($1 < last ? $1 : last))]}"
}

# wait_for SECONDS DESCRIPTION COMMAND...: retry COMMAND (poll_pause between tries) until it
# succeeds.
wait_for() {
  local seconds=$1 description=$2
  shift 2
  local deadline=$((SECONDS + seconds)) tries=0
  until "$@"; do
    if ((SECONDS >= deadline)); then
      log "gave up after ${seconds}s waiting for $description"
      return 1
    fi
    poll_pause "$tries"
    tries=$((tries + 1))
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

# wait_ready CONTAINER SECONDS: until a just-created instance container accepts connections;
# fails at once, with its reason, when its entrypoint guard refused to start it
# (/config/instance.sh) or PostgreSQL exited, or when it waits to clone from a primary that
# cannot start.
wait_ready() {
  local container=$1 timeout=$2
  local deadline=$((SECONDS + timeout)) next_report=$((SECONDS + 15))
  local restarts_before refusal state status restarts
  require_container "$container"
  # A container that failed before this run (a first start that failed, then a fixed
  # configuration) gets one more start; one that fails after it is not retried here.
  restarts_before=$(docker container inspect -f '{{.RestartCount}}' "$container")
  # The reasons to give up are looked for between two waits of a second or two (more docker
  # calls), which is soon enough for a container that will not start.
  local asked_at
  until asked_at=$SECONDS && instance_ready "$container" 2; do
    # docker exec prints its own failures (a container restarting) on stdout: only the
    # guard's own message counts.
    refusal=$(docker exec "$container" cat /tmp/postgres-replication-refused 2>/dev/null || true)
    case "$refusal" in
      "$container cannot start"*) fail "$refusal" ;;
    esac
    state=$(docker container inspect -f '{{.State.Status}} {{.RestartCount}}' "$container" 2>/dev/null) ||
      fail "container $container vanished while starting"
    read -r status restarts <<<"$state"
    if [ "$status" = restarting ] && ((restarts > restarts_before)); then status=crashing; fi
    case "$status" in
      exited | dead | crashing)
        log "$container stopped while starting (status: $status); its last log lines:"
        docker logs --tail 15 "$container" 2>&1 | sed 's/^/  | /' >&2
        fail "$container did not start; fix the cause above, then run pulumi up again"
        ;;
    esac
    check_clone_source "$container"
    if ((SECONDS >= deadline)); then
      docker logs --tail 15 "$container" 2>&1 | sed 's/^/  | /' >&2
      fail "$container did not accept connections within ${timeout}s; see: docker logs $container"
    fi
    if ((SECONDS >= next_report)); then
      log "still waiting for $container to accept connections ($(docker logs --tail 1 "$container" 2>&1 | cut -c1-120))"
      next_report=$((SECONDS + 15))
    fi
    # An exec that fails at once (the container is restarting) must not make this a busy loop.
    if ((SECONDS == asked_at)); then sleep 0.5; else sleep 0.1; fi
  done
  log "$container accepts connections"
}

# instance_ready CONTAINER [SECONDS]: it accepts connections, asked over TCP (the image's
# first-start initialisation runs a server on the socket only) from inside the container, again
# every tenth of a second for up to SECONDS (default: once). One docker exec for the whole wait:
# every exec costs more CPU than the starting server can spare, and the answer comes at once.
instance_ready() {
  docker exec -u postgres -e SUPERUSER -e WITHIN="${2:-0}" "$1" /bin/sh -c '
    end=$(($(date +%s) + WITHIN))
    until pg_isready -q -h 127.0.0.1 -p 5432 -t 2 &&
      psql -X -q -At -U "$SUPERUSER" -d postgres -c "select 1"; do
      [ "$(date +%s)" -lt "$end" ] || exit 1
      sleep 0.1
    done' >/dev/null 2>&1
}

# A new standby clones from its primary at its first start and waits for it until then: when
# that primary cannot start (or was never created), waiting on would only end in a timeout.
# An instance that holds data, or is the primary, is not held to this.
clone_source_missing_since=""
check_clone_source() {
  local container=$1 primary status refusal
  docker exec "$container" test -s /data/PG_VERSION 2>/dev/null && return 0
  primary=$(docker exec "$container" /bin/sh -c '. /config/instance.env && [ "$ROLE" = standby ] && echo "$PRIMARY_HOST"' 2>/dev/null) || return 0
  [ -n "$primary" ] || return 0
  status=$(docker container inspect -f '{{.State.Status}}' "$primary" 2>/dev/null) || status=missing
  case "$status" in
    missing)
      clone_source_missing_since=${clone_source_missing_since:-$SECONDS}
      ((SECONDS - clone_source_missing_since < 60)) ||
        fail "$container waits to clone from $primary, whose container was not created; fix the error reported for it, then run pulumi up again"
      ;;
    exited | dead | restarting)
      fail "$container waits to clone from $primary, which is $status; see: docker logs $primary"
      ;;
  esac
  refusal=$(docker exec "$primary" cat /tmp/postgres-replication-refused 2>/dev/null || true)
  case "$refusal" in
    "$primary cannot start"*) fail "$container cannot clone: $refusal" ;;
  esac
}
