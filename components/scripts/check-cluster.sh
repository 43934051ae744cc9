# The end of an `up` that changed the topology, a role or a container: the cluster is what the
# configuration says, or the run fails saying what to do.
#   - the primary accepts writes and holds the database, the replication and the rewind role;
#   - every standby runs in recovery;
#   - slots: the primary holds one per standby (SLOTS) and no other slot of this cluster; a
#     standby holds none (a demoted primary keeps its old slots, which would hold WAL back and
#     come back stale at its next promotion).
# Slots of other names (someone else's) are left alone.
# Environment: CLUSTER, PRIMARY_CONTAINER, STANDBYS, SLOTS, SLOT_PREFIX, DATABASE, SUPERUSER,
#   REPLICATION_USER, REWIND_USER.
require_env CLUSTER PRIMARY_CONTAINER SLOT_PREFIX DATABASE SUPERUSER REPLICATION_USER REWIND_USER

wait_accepting 60 "$PRIMARY_CONTAINER"
in_recovery "$PRIMARY_CONTAINER" &&
  fail "$PRIMARY_CONTAINER should be the primary but is in recovery; run pulumi up again, or see: docker logs $PRIMARY_CONTAINER"

[ "$(psql_in "$PRIMARY_CONTAINER" -v db="$DATABASE" <<<"select count(*) from pg_database where datname = :'db'")" = 1 ] ||
  fail "database $DATABASE is missing on $PRIMARY_CONTAINER; run pulumi up again to create it"
for role in "$REPLICATION_USER" "$REWIND_USER"; do
  [ "$(psql_in "$PRIMARY_CONTAINER" -v role="$role" <<<"select count(*) from pg_roles where rolname = :'role'")" = 1 ] ||
    fail "role $role is missing on $PRIMARY_CONTAINER; run pulumi up again to create it"
done

# slots_of CONTAINER: this cluster's slots on it, one per line.
slots_of() {
  psql_in "$1" -v prefix="$SLOT_PREFIX" <<<"select slot_name from pg_replication_slots
    where slot_type = 'physical' and starts_with(slot_name::text, :'prefix') order by 1"
}
drop_slot() {
  psql_in "$1" -v slot="$2" <<<"select pg_drop_replication_slot(slot_name) from pg_replication_slots
    where slot_name = :'slot' and not active" >/dev/null
  log "dropped stale replication slot $2 on $1"
}

for standby in ${STANDBYS:-}; do
  require_container "$standby"
  container_running "$standby" ||
    fail "standby $standby is not running; start it (docker start $standby), then run pulumi up again"
  wait_accepting 60 "$standby"
  in_recovery "$standby" ||
    fail "$standby accepts writes but should be a standby of $PRIMARY_CONTAINER; run pulumi up again"
  for slot in $(slots_of "$standby"); do drop_slot "$standby" "$slot"; done
done

expected=" ${SLOTS:-} "
for slot in $(slots_of "$PRIMARY_CONTAINER"); do
  case "$expected" in
    *" $slot "*) ;;
    *) drop_slot "$PRIMARY_CONTAINER" "$slot" ;;
  esac
done
present=" $(slots_of "$PRIMARY_CONTAINER" | tr '\n' ' ') "
for slot in ${SLOTS:-}; do
  case "$present" in
    *" $slot "*) ;;
    *) fail "replication slot $slot is missing on $PRIMARY_CONTAINER; run pulumi up again" ;;
  esac
done
log "$CLUSTER: $PRIMARY_CONTAINER is the primary of ${STANDBYS:-no standbys}; database, roles and slots as configured"
