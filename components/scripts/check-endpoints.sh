# After every `up` that changed roles or re-created a container: the read-write endpoint
# reaches the primary, and the read-only endpoint reaches a standby (or the primary when there
# is none). Asked from inside the proxy container, through its own listeners. The waits are
# long because each of the proxy's health checks starts a psql, which a busy machine makes
# slow (30 s was seen to run out at a load of 17 on 2 cores); a healthy cluster passes in a
# few seconds.
# Environment: CONTAINER, PRIMARY_CONTAINER, STANDBY_COUNT, SUPERUSER.
require_env CONTAINER PRIMARY_CONTAINER STANDBY_COUNT SUPERUSER

require_container "$CONTAINER"
through() {
  docker exec -e PGPASSFILE=/config/probe.pgpass -e PGCONNECT_TIMEOUT=2 "$CONTAINER" \
    psql -X -A -t -w -h 127.0.0.1 -p "$1" -d postgres -c 'select pg_is_in_recovery()' \
    -U "$(docker exec "$CONTAINER" sed -n 's/^PROBE_USER=//p' /config/proxy.env)" 2>/dev/null
}
writes_reach_primary() { [ "$(through 5432)" = f ]; }
reads_reach_standby() { [ "$(through 5433)" = t ]; }

wait_for 120 "the read-write endpoint to reach $PRIMARY_CONTAINER" writes_reach_primary ||
  fail "the read-write endpoint does not reach a writable instance; see: docker logs $CONTAINER"
if [ "$STANDBY_COUNT" -gt 0 ]; then
  wait_for 120 "the read-only endpoint to reach a standby" reads_reach_standby ||
    fail "the read-only endpoint does not reach a standby; see: docker logs $CONTAINER"
fi
log "endpoints: read-write reaches the primary, read-only reaches $([ "$STANDBY_COUNT" -gt 0 ] && echo 'a standby' || echo 'the primary (no standbys)')"
