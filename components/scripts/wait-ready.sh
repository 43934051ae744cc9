# Waits until a just-created container accepts connections; fails at once, with its reason,
# when its entrypoint guard refused to start it (/config/instance.sh) or PostgreSQL exited.
# Runs after each creation of the container (CONTAINER_ID changes), not on every `up`.
# Environment: CONTAINER, CONTAINER_ID, SUPERUSER, TIMEOUT_SECONDS.
require_env CONTAINER CONTAINER_ID SUPERUSER

timeout=${TIMEOUT_SECONDS:-600}
deadline=$((SECONDS + timeout))
next_report=$((SECONDS + 15))
# Over TCP: the image's first-start initialisation runs a server on the socket only.
# One docker exec per try: the check runs often, and every exec costs CPU the starting server
# needs.
ready() {
  docker exec -u postgres -e SUPERUSER "$CONTAINER" /bin/sh -c \
    'pg_isready -q -h 127.0.0.1 -p 5432 -t 2 && psql -X -q -At -U "$SUPERUSER" -d postgres -c "select 1"' \
    >/dev/null 2>&1
}

require_container "$CONTAINER"
# A container that failed before this run (a first start that failed, then a fixed
# configuration) gets one more start; one that fails after it is not retried here.
restarts_before=$(docker container inspect -f '{{.RestartCount}}' "$CONTAINER")
tries=0
until ready; do
  tries=$((tries + 1))
  # The probe runs every POLL_SECONDS; the reasons to give up are looked for about twice a
  # second, which is soon enough for a container that will not start.
  if ((tries % 4 != 1)); then
    sleep "$POLL_SECONDS"
    continue
  fi
  # docker exec prints its own failures (a container restarting) on stdout: only the guard's
  # own message counts.
  refusal=$(docker exec "$CONTAINER" cat /tmp/postgres-replication-refused 2>/dev/null || true)
  case "$refusal" in
    "$CONTAINER cannot start"*) fail "$refusal" ;;
  esac
  state=$(docker container inspect -f '{{.State.Status}} {{.RestartCount}}' "$CONTAINER" 2>/dev/null) ||
    fail "container $CONTAINER vanished while starting"
  read -r status restarts <<<"$state"
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
  sleep "$POLL_SECONDS"
done
log "$CONTAINER accepts connections"
