# After every `up` that changed roles or re-created a container: the read-write endpoint
# reaches the primary, and the read-only endpoint reaches a standby (or the primary when there
# is none). Asked from inside the proxy container, through its own listeners. The waits are
# long because each of the proxy's health checks starts a psql, which a busy machine makes
# slow (30 s was seen to run out at a load of 17 on 2 cores); a healthy cluster passes in a
# few seconds.
# Environment: CONTAINER, PRIMARY_CONTAINER, STANDBY_COUNT, SUPERUSER.
require_env CONTAINER PRIMARY_CONTAINER STANDBY_COUNT SUPERUSER

require_container "$CONTAINER"
# HAProxy counts a server up until its first health checks fail (a new or re-resolved one
# too) and spreads connections over every server it counts up, so one right answer proves
# little: twice as many connections in a row as there are instances must all get it. They are
# all made from one docker exec, both endpoints' (one exec per connection took longer than the
# connections). Sets `wrong` to the endpoint that did not answer as it should.
read_write_expect="5432 f"
# Without standbys reads go to the primary; not checked: a scale-down to none removes the last
# standby only after this check, and until then reads still reach it.
read_only_expect=$([ "$STANDBY_COUNT" -gt 0 ] && echo "5433 t" || echo "")
endpoints_answer() {
  wrong=$(docker exec -e PGPASSFILE=/config/probe.pgpass -e PGCONNECT_TIMEOUT=5 \
    -e COUNT=$((2 * (STANDBY_COUNT + 1))) -e EXPECTED="$read_write_expect $read_only_expect" \
    "$CONTAINER" /bin/sh -c '
      . /config/proxy.env
      set -- $EXPECTED
      while [ "$#" -ge 2 ]; do
        i=0
        while [ "$i" -lt "$COUNT" ]; do
          answer=$(psql -X -A -t -w -h 127.0.0.1 -p "$1" -d postgres -U "$PROBE_USER" \
            -c "select pg_is_in_recovery()" 2>/dev/null) || answer=none
          if [ "$answer" != "$2" ]; then echo "$1"; exit 1; fi
          i=$((i + 1))
        done
        shift 2
      done' 2>/dev/null)
}

# What the proxy saw, for the failure message.
proxy_view() {
  log "the proxy's last log lines:"
  docker logs --tail 12 "$CONTAINER" 2>&1 | sed 's/^/  | /' >&2
}
if ! wait_for 180 "the endpoints to reach $PRIMARY_CONTAINER and the standbys" endpoints_answer; then
  proxy_view
  case "$wrong" in
    5433) fail "the read-only endpoint does not reach a standby; see: docker logs $CONTAINER" ;;
    *) fail "the read-write endpoint does not reach a writable instance; see: docker logs $CONTAINER" ;;
  esac
fi
log "endpoints: read-write reaches the primary, read-only reaches $([ "$STANDBY_COUNT" -gt 0 ] && echo 'a standby' || echo 'the primary (no standbys)')"
