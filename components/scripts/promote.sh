# Makes TARGET the only writable instance of the cluster: the tutorial's failover, and a
# switchover when the old primary is still running.
#   1. every other running instance that accepts writes is stopped (a fast shutdown first
#      sends its remaining WAL to the connected standbys);
#   2. TARGET waits until it has replayed everything the old primary wrote;
#   3. TARGET is promoted (pg_ctl promote), unless it is a primary already.
# The old primary rejoins later as a standby (join-standby.sh); until then it stays stopped,
# and if it is started anyway, /config/instance.sh starts it read-only.
# Environment: CLUSTER, TARGET, SUPERUSER.
require_env CLUSTER TARGET SUPERUSER

container_running "$TARGET" || fail "$TARGET is not running, so it cannot become the primary"
wait_for 120 "$TARGET to accept connections" accepts_sql "$TARGET"

checkpoint_lsn_of_stopped() {
  docker run --rm --network none --user postgres --entrypoint pg_controldata \
    -v "$1-data:/data" "$IMAGE_OF_TARGET" /data |
    sed -n 's/^Latest checkpoint location: *//p'
}
replayed_up_to() {
  [ "$(psql_in "$TARGET" -c "select pg_last_wal_replay_lsn() >= '$1'::pg_lsn")" = t ]
}
IMAGE_OF_TARGET=$(docker container inspect -f '{{.Image}}' "$TARGET")

for other in $(docker ps --filter "label=postgres-replication.cluster=$CLUSTER" --format '{{.Names}}'); do
  [ "$other" = "$TARGET" ] && continue
  accepts_sql "$other" || continue
  in_recovery "$other" && continue
  log "switchover: stopping the old primary $other"
  docker stop "$other" >/dev/null
  if in_recovery "$TARGET"; then
    lsn=$(checkpoint_lsn_of_stopped "$other")
    log "waiting for $TARGET to replay up to $lsn, the old primary's last record"
    if ! wait_for 120 "$TARGET to replay $lsn" replayed_up_to "$lsn"; then
      docker start "$other" >/dev/null
      fail "$TARGET did not catch up with $other; switchover aborted and $other restarted as primary"
    fi
  fi
done

if in_recovery "$TARGET"; then
  log "promoting $TARGET"
  docker exec -u postgres "$TARGET" pg_ctl promote -D /data -w -t 120 >/dev/null
fi
target_writable() { ! in_recovery "$TARGET"; }
wait_for 60 "$TARGET to accept writes" target_writable
log "$TARGET is the primary"
