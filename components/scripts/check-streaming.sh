# The tutorial's "Test the replication", built in: waits until the primary reports the
# standby as streaming in pg_stat_replication, and fails the deployment otherwise.
# Environment: PRIMARY_CONTAINER, STANDBY, SUPERUSER, TIMEOUT_SECONDS.
# Runs when the standby is first created and when the primary changes, not on every `up`.
require_env PRIMARY_CONTAINER STANDBY SUPERUSER
require_container "$PRIMARY_CONTAINER"
require_container "$STANDBY"

standby_streaming() {
  [ "$(psql_in "$PRIMARY_CONTAINER" -c "select state from pg_stat_replication where application_name = '$STANDBY'")" = streaming ]
}

timeout=${TIMEOUT_SECONDS:-120}
if ! wait_for "$timeout" "$STANDBY to stream from $PRIMARY_CONTAINER" standby_streaming; then
  fail "$STANDBY is not streaming from $PRIMARY_CONTAINER after ${timeout}s; see: docker logs $STANDBY"
fi
log "$STANDBY is streaming from $PRIMARY_CONTAINER"
