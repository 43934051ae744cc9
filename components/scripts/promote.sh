# Makes TARGET the only writable instance of the cluster: the tutorial's failover, and a
# switchover when the old primary is still running.
#   1. every other running instance that accepts writes is stopped: once TARGET streams from
#      it (switchover: a fast shutdown first sends all remaining WAL to the connected
#      standbys), or at once when TARGET cannot reach it (failover across a partition);
#   2. after a switchover, TARGET waits until it has replayed the old primary's last record;
#      in a failover, TARGET must hold at least as much WAL as every other running standby
#      (unless ACCEPT_DATA_LOSS is true): promoting one that is behind loses what only the
#      others received, acknowledged commits included when synchronousStandbys < standbys;
#   3. TARGET is promoted (pg_ctl promote), unless it is a primary already.
# The old primary rejoins afterwards as a standby (join-standby.sh); until then it stays
# stopped, and if it is started anyway, /config/instance.sh starts it read-only.
# Environment: CLUSTER, TARGET, SUPERUSER, ACCEPT_DATA_LOSS (true or false).
require_env CLUSTER TARGET SUPERUSER

require_container "$TARGET"
if ! container_running "$TARGET"; then
  log "starting $TARGET"
  docker start "$TARGET" >/dev/null
fi
wait_recovery_state 120 "$TARGET"

# Instances only: the endpoint proxy and throwaway containers carry the cluster label too.
cluster_members() {
  docker ps --filter "label=postgres-replication.cluster=$CLUSTER" \
    --filter label=postgres-replication.instance --format '{{.Names}}'
}
# All the WAL an instance holds: what it received, or at least what it replayed.
held_lsn() {
  psql_in "$1" -c "select coalesce(greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), '0/0')"
}
refuse_if_behind() {
  [ "${ACCEPT_DATA_LOSS:-false}" = true ] && return 0
  local target_lsn other other_lsn
  target_lsn=$(held_lsn "$TARGET")
  for other in $(cluster_members); do
    [ "$other" = "$TARGET" ] && continue
    accepts_sql "$other" && in_recovery "$other" || continue
    other_lsn=$(held_lsn "$other")
    if [ "$(psql_in "$TARGET" -c "select '$other_lsn'::pg_lsn > '$target_lsn'::pg_lsn")" = t ]; then
      fail "refusing to promote $TARGET: it holds WAL up to $target_lsn but $other holds up to $other_lsn, so promoting $TARGET loses what only $other received. Promote $other instead (pulumi config set primary ${other##*-}), or set acceptDataLoss to true to accept the loss"
    fi
  done
  log "$TARGET holds WAL up to $target_lsn, no less than any other running standby"
}

# pg_stat_wal_receiver keeps saying "streaming" for up to wal_receiver_timeout after the
# sender became unreachable, so reachability is checked first, from TARGET itself.
streams_from() {
  docker exec "$TARGET" pg_isready -q -h "$1" -p 5432 -t 3 &&
    [ "$(psql_in "$TARGET" -c "select status from pg_stat_wal_receiver where sender_host = '$1'")" = streaming ]
}
checkpoint_lsn_of_stopped() {
  docker run --rm --network none --user postgres --entrypoint pg_controldata \
    -v "$1-data:/data" "$(docker container inspect -f '{{.Image}}' "$1")" /data |
    sed -n 's/^Latest checkpoint location: *//p'
}
replayed_up_to() {
  [ "$(psql_in "$TARGET" -c "select pg_last_wal_replay_lsn() >= '$1'::pg_lsn")" = t ]
}
# Undo a switchover that cannot complete: the old primary comes back as the primary.
restore_old_primary() {
  docker run --rm --network none --user root --entrypoint /bin/sh -v "$1-config:/config" \
    "$(docker container inspect -f '{{.Image}}' "$1")" -c 'sed -i "s/^ROLE=.*/ROLE=primary/" /config/instance.env'
  docker start "$1" >/dev/null
}

switchover=false
# Every other instance that accepts writes now, all asked at once: one after another, the
# standbys of a new cluster (still cloning, so not answering) took seconds on a busy machine.
writable_others() {
  local other
  for other in $(cluster_members); do
    [ "$other" = "$TARGET" ] && continue
    (if [ "$(psql_in "$other" -c 'select pg_is_in_recovery()' 2>/dev/null)" = f ]; then echo "$other"; fi) &
  done
  wait
}
others=$(writable_others | sort)
for other in $others; do
  if in_recovery "$TARGET" && ! wait_for 30 "$TARGET to stream from $other" streams_from "$other"; then
    # Failover: the old primary is running but unreachable from TARGET (a network partition).
    # It is fenced by stopping it; what it acknowledged and TARGET never received is lost
    # unless synchronous replication kept TARGET up to date.
    refuse_if_behind
    log "failover: $other is running but $TARGET cannot stream from it; fencing $other (stopped)"
    docker stop "$other" >/dev/null
    continue
  fi
  switchover=true
  log "switchover: stopping the old primary $other"
  docker stop "$other" >/dev/null
  if in_recovery "$TARGET"; then
    lsn=$(checkpoint_lsn_of_stopped "$other")
    log "waiting for $TARGET to replay up to $lsn, the old primary's last record"
    if ! wait_for 60 "$TARGET to replay $lsn" replayed_up_to "$lsn"; then
      restore_old_primary "$other"
      fail "$TARGET did not receive all WAL from $other; switchover aborted, $other is the primary again"
    fi
  fi
done

# Asked again only when another instance was stopped: nothing else changes TARGET's state.
if [ -n "$others" ]; then
  recovery=$(psql_in "$TARGET" -c 'select pg_is_in_recovery()')
fi
if [ "$recovery" = t ]; then
  [ "$switchover" = true ] || refuse_if_behind
  log "promoting $TARGET"
  docker exec -u postgres "$TARGET" pg_ctl promote -D /data -w -t 120 >/dev/null
  target_writable() { ! in_recovery "$TARGET"; }
  wait_for 60 "$TARGET to accept writes" target_writable
fi
# Settings written while it was a standby (see write-config.sh) apply now.
# pg_rewind reads the source's timeline from its control file, which promotion updates only at
# its next checkpoint: without the checkpoint, rejoining the old primary finds "no rewind
# required".
psql_in "$TARGET" -c 'select pg_reload_conf()' -c 'checkpoint' >/dev/null
log "$TARGET is the primary"
