# Makes an instance a streaming standby of the primary. Runs once its container accepts
# connections (a new standby's container clones itself at its first start: instance.sh), and
# again whenever the primary changes.
#   running standby streaming from primary   -> nothing to do
#   former primary, or a diverged standby    -> stop it, pg_rewind (else a fresh clone), start
# Environment: CLUSTER, CONTAINER, IMAGE, NETWORK, DATA_VOLUME, CONFIG_VOLUME, ARCHIVE_VOLUME
#   (empty when there is no archive), PRIMARY_CONTAINER, SUPERUSER.
require_env CLUSTER CONTAINER IMAGE NETWORK DATA_VOLUME CONFIG_VOLUME PRIMARY_CONTAINER SUPERUSER

# A diverged standby shows "streaming" for a moment before the primary refuses its start
# point: following means streaming on the primary's own timeline.
# Both instances are asked at once.
streaming_from_primary() {
  local timeline receiver asked following=false
  receiver=$(mktemp)
  psql_in "$CONTAINER" -c "select status || ' ' || received_tli from pg_stat_wal_receiver where sender_host = '$PRIMARY_CONTAINER'" >"$receiver" 2>/dev/null &
  asked=$!
  timeline=$(psql_in "$PRIMARY_CONTAINER" -c "select timeline_id from pg_control_checkpoint()") || timeline=""
  wait "$asked" || true
  if [ -n "$timeline" ] && [ "$(cat "$receiver")" = "streaming $timeline" ]; then following=true; fi
  rm -f "$receiver"
  [ "$following" = true ]
}

wait_accepting 120 "$PRIMARY_CONTAINER"

# Answers only when it runs and accepts connections.
if ask "$CONTAINER" 'select pg_is_in_recovery()' && [ "$answer" = t ] &&
  wait_for 30 "$CONTAINER to stream from $PRIMARY_CONTAINER" streaming_from_primary; then
  log "$CONTAINER is a standby streaming from $PRIMARY_CONTAINER"
  exit 0
fi
if container_running "$CONTAINER"; then
  case "$answer" in
    t) log "$CONTAINER does not follow $PRIMARY_CONTAINER; stopping it to rejoin" ;;
    f) log "$CONTAINER accepts writes; stopping it to rejoin as a standby of $PRIMARY_CONTAINER" ;;
    *) log "$CONTAINER does not answer (${error:-no answer}); stopping it to rejoin" ;;
  esac
  docker stop "$CONTAINER" >/dev/null
fi

# A primary, or a standby that was stopped because it did not follow (it may have diverged):
# pg_rewind, else a fresh base backup (an empty volume gets one at once).
require_container "$CONTAINER"
run_instance_script rewind

if ! container_running "$CONTAINER"; then
  docker start "$CONTAINER" >/dev/null
  log "$CONTAINER started"
  # pg_rewind can succeed and still leave a history the primary's timeline does not contain;
  # the last resort is a fresh copy.
  wait_for 120 "$CONTAINER to accept connections" accepts_sql "$CONTAINER"
  if ! docker exec "$CONTAINER" pg_isready -q -h "$PRIMARY_CONTAINER" -p 5432 -t 3; then
    log "$CONTAINER cannot reach $PRIMARY_CONTAINER yet; it stays a read-only standby until it can"
  elif ! wait_for 60 "$CONTAINER to stream from $PRIMARY_CONTAINER" streaming_from_primary; then
    log "$CONTAINER cannot follow $PRIMARY_CONTAINER after the rewind; cloning it again"
    docker stop "$CONTAINER" >/dev/null
    run_instance_script reclone
    docker start "$CONTAINER" >/dev/null
  fi
fi
