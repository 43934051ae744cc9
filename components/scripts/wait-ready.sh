# Waits until a just-created container accepts connections; fails at once, with its reason,
# when its entrypoint guard refused to start it (/config/instance.sh) or PostgreSQL exited.
# Runs after each creation of the container (CONTAINER_ID changes), not on every `up`.
# Environment: CONTAINER, CONTAINER_ID, SUPERUSER, TIMEOUT_SECONDS.
require_env CONTAINER CONTAINER_ID SUPERUSER

timeout=${TIMEOUT_SECONDS:-600}
deadline=$((SECONDS + timeout))
next_report=$((SECONDS + 15))
# Over TCP: the image's first-start initialisation runs a server on the socket only.
ready() {
  docker exec "$CONTAINER" pg_isready -q -h 127.0.0.1 -p 5432 -t 2 2>/dev/null && accepts_sql "$CONTAINER"
}

require_container "$CONTAINER"
# A container that failed before this run (a first start that failed, then a fixed
# configuration) gets one more start; one that fails after it is not retried here.
restarts_before=$(docker container inspect -f '{{.RestartCount}}' "$CONTAINER")
until ready; do
  # docker exec prints its own failures (a container restarting) on stdout: only the guard's
  # own message counts.
  refusal=$(docker exec "$CONTAINER" cat /tmp/postgres-replication-refused 2>/dev/null || true)
  case "$refusal" in
    "$CONTAINER cannot start"*) fail "$refusal" ;;
  esac
  status=$(docker container inspect -f '{{.State.Status}}' "$CONTAINER" 2>/dev/null) ||
    fail "container $CONTAINER vanished while starting"
  restarts=$(docker container inspect -f '{{.RestartCount}}' "$CONTAINER")
  if [ "$status" = restarting ] && ((restarts > restarts_before)); then status=crashing; fi
  case "$status" in
    exited | dead | crashing)
      log "$CONTAINER stopped while starting (status: $status); its last log lines:"
      docker logs --tail 15 "$CONTAINER" 2>&1 | sed 's/^/  | /' >&2
      fail "$CONTAINER did not start; fix the cause above, then run pulumi up again"
      ;;
  esac
  if ((SECONDS >= deadline)); then
    docker logs --tail 15 "$CONTAINER" 2>&1 | sed 's/^/  | /' >&2
    fail "$CONTAINER did not accept connections within ${timeout}s; see: docker logs $CONTAINER"
  fi
  if ((SECONDS >= next_report)); then
    log "still waiting for $CONTAINER to accept connections ($(docker logs --tail 1 "$CONTAINER" 2>&1 | cut -c1-120))"
    next_report=$((SECONDS + 15))
  fi
  sleep 0.5
done
log "$CONTAINER accepts connections"
