# The tutorial's "Test the replication", built in: waits until the primary reports the
# standby as streaming in pg_stat_replication, and fails the deployment otherwise.
# Environment: PRIMARY_CONTAINER, STANDBY, SUPERUSER, TIMEOUT_SECONDS.
# Runs when the standby is first created and when the primary changes, not on every `up`.
require_env PRIMARY_CONTAINER STANDBY SUPERUSER

timeout=${TIMEOUT_SECONDS:-120}
# A standby that cannot even reach its primary (a network partition) will not stream however
# long this waits: after this long without a single answer from the primary, the run fails at
# once instead of after the whole timeout. A slow catch-up still gets the whole timeout.
unreachable_limit=20
deadline=$((SECONDS + timeout))
unreachable_since=""
tries=0

# Keeps the primary's last error for the failure message.
last_error=""
standby_streaming() {
  if ! ask "$PRIMARY_CONTAINER" "select state from pg_stat_replication where application_name = '$STANDBY'"; then
    last_error=$error
    return 1
  fi
  [ "$answer" = streaming ]
}
reaches_primary() {
  docker exec "$STANDBY" pg_isready -q -h "$PRIMARY_CONTAINER" -p 5432 -t 3 >/dev/null 2>&1
}

until standby_streaming; do
  if ((tries == 0)); then
    require_container "$PRIMARY_CONTAINER"
    require_container "$STANDBY"
  fi
  if ((SECONDS >= deadline)); then
    fail "$STANDBY is not streaming from $PRIMARY_CONTAINER after ${timeout}s${last_error:+ ($PRIMARY_CONTAINER answered: $last_error)}; see: docker logs $STANDBY"
  fi
  if reaches_primary; then
    unreachable_since=""
  elif [ -z "$unreachable_since" ]; then
    unreachable_since=$SECONDS
  elif ((SECONDS - unreachable_since >= unreachable_limit)); then
    fail "$STANDBY is not streaming from $PRIMARY_CONTAINER: it has not reached $PRIMARY_CONTAINER over the network for ${unreachable_limit}s; reconnect it, then run pulumi up again"
  fi
  poll_pause "$tries"
  tries=$((tries + 1))
done
log "$STANDBY is streaming from $PRIMARY_CONTAINER"
