# Creates (create) or drops (delete) one standby's physical replication slot on the primary.
# Usage: slot.sh create|delete. Environment: PRIMARY_CONTAINER, SUPERUSER, SLOT.
require_env PRIMARY_CONTAINER SUPERUSER SLOT
action=${1:?create or delete}

if [ "$action" = create ]; then
  wait_accepting 120 "$PRIMARY_CONTAINER"
  # A new standby creates its own slot when the primary is one already (instance.sh), so the
  # two may race: losing the race is success too.
  create_slot() {
    psql_in "$PRIMARY_CONTAINER" -v slot="$SLOT" <<'SQL' >/dev/null
SELECT 1 FROM pg_create_physical_replication_slot(:'slot', true)
WHERE NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = :'slot');
SQL
  }
  slot_exists() {
    [ "$(psql_in "$PRIMARY_CONTAINER" -v slot="$SLOT" <<'SQL'
SELECT count(*) FROM pg_replication_slots WHERE slot_name = :'slot';
SQL
    )" = 1 ]
  }
  if ! error=$(create_slot 2>&1); then
    slot_exists || fail "could not create replication slot $SLOT on $PRIMARY_CONTAINER: $error"
  fi
  log "replication slot $SLOT is in place on $PRIMARY_CONTAINER"
  exit 0
fi

# delete: the standby is gone, or going: its container is deleted independently of this (the
# container clones itself and so does not wait for the slot), so a walsender may still use the
# slot; it is ended first. The slot would otherwise only hold WAL back.
if ! container_running "$PRIMARY_CONTAINER" || ! accepts_sql "$PRIMARY_CONTAINER"; then
  log "$PRIMARY_CONTAINER is not running; nothing to drop"
  exit 0
fi
drop_slot() {
  psql_in "$PRIMARY_CONTAINER" -v slot="$SLOT" <<'SQL' >/dev/null 2>&1
SELECT pg_terminate_backend(active_pid, 5000) FROM pg_replication_slots
WHERE slot_name = :'slot' AND active_pid IS NOT NULL;
SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = :'slot';
SQL
}
wait_for 30 "slot $SLOT to be dropped" drop_slot || fail "slot $SLOT is still in use on $PRIMARY_CONTAINER"
log "replication slot $SLOT dropped on $PRIMARY_CONTAINER"
