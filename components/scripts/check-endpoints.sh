# After every `up` that changed roles or re-created a container: the read-write endpoint
# reaches the primary, and the read-only endpoint reaches a standby (or the primary when there
# is none). Asked from inside the proxy container, through its own listeners. The waits are
# long because each of the proxy's health checks starts a psql, which a busy machine makes
# slow (30 s was seen to run out at a load of 17 on 2 cores); a healthy cluster passes in a
# few seconds.
# Environment: CONTAINER, PRIMARY_CONTAINER, STANDBY_COUNT, SUPERUSER.
require_env CONTAINER PRIMARY_CONTAINER STANDBY_COUNT SUPERUSER

require_container "$CONTAINER"
probe_user=$(docker exec "$CONTAINER" sed -n 's/^PROBE_USER=//p' /config/proxy.env)
# HAProxy counts a server up until its first health checks fail (a new or re-resolved one
# too) and spreads connections over every server it counts up, so one right answer proves
# little: twice as many connections in a row as there are instances must all get it. They are
# made from one docker exec: one exec per connection took longer than the connections.
# every_connection_through PORT ANSWER: pg_is_in_recovery() through the proxy's PORT.
every_connection_through() {
  docker exec -e PGPASSFILE=/config/probe.pgpass -e PGCONNECT_TIMEOUT=5 -e PORT="$1" \
    -e ANSWER="$2" -e COUNT=$((2 * (STANDBY_COUNT + 1))) -e PROBE_USER="$probe_user" \
    "$CONTAINER" /bin/sh -c '
      i=0
      while [ "$i" -lt "$COUNT" ]; do
        answer=$(psql -X -A -t -w -h 127.0.0.1 -p "$PORT" -d postgres -U "$PROBE_USER" \
          -c "select pg_is_in_recovery()" 2>/dev/null) || exit 1
        [ "$answer" = "$ANSWER" ] || exit 1
        i=$((i + 1))
      done' 2>/dev/null
}
writes_reach_primary() { every_connection_through 5432 f; }
reads_reach_standby() { every_connection_through 5433 t; }

# What the proxy saw, for the failure message.
proxy_view() {
  log "the proxy's last log lines:"
  docker logs --tail 12 "$CONTAINER" 2>&1 | sed 's/^/  | /' >&2
}
wait_for 180 "the read-write endpoint to reach $PRIMARY_CONTAINER" writes_reach_primary || {
  proxy_view
  fail "the read-write endpoint does not reach a writable instance; see: docker logs $CONTAINER"
}
if [ "$STANDBY_COUNT" -gt 0 ]; then
  wait_for 180 "the read-only endpoint to reach a standby" reads_reach_standby || {
    proxy_view
    fail "the read-only endpoint does not reach a standby; see: docker logs $CONTAINER"
  }
fi
log "endpoints: read-write reaches the primary, read-only reaches $([ "$STANDBY_COUNT" -gt 0 ] && echo 'a standby' || echo 'the primary (no standbys)')"
