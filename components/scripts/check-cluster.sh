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

# Each instance is asked once, in one query: every docker exec costs about a tenth of a
# second, and this check ends every `up`.
# The cluster's slots an instance holds, space-separated.
CLUSTER_SLOTS="coalesce((select string_agg(slot_name::text, ' ' order by slot_name)
  from pg_replication_slots where slot_type = 'physical'
  and starts_with(slot_name::text, :'prefix')), '')"
# primary_state: "RECOVERY|DATABASES|REPLICATION_ROLES|REWIND_ROLES|SLOTS" of the primary.
primary_state() {
  state=$(psql_in "$PRIMARY_CONTAINER" -v db="$DATABASE" -v replication="$REPLICATION_USER" \
    -v rewind="$REWIND_USER" -v prefix="$SLOT_PREFIX" <<<"select pg_is_in_recovery(),
      (select count(*) from pg_database where datname = :'db'),
      (select count(*) from pg_roles where rolname = :'replication'),
      (select count(*) from pg_roles where rolname = :'rewind'), $CLUSTER_SLOTS" 2>/dev/null)
}
# standby_state STANDBY: "RECOVERY|SLOTS" (this cluster's slots on it, space-separated).
standby_state() {
  state=$(psql_in "$1" -v prefix="$SLOT_PREFIX" <<<"select pg_is_in_recovery(), $CLUSTER_SLOTS" \
    2>/dev/null)
}

require_container "$PRIMARY_CONTAINER"
wait_for 60 "$PRIMARY_CONTAINER to accept connections" primary_state ||
  fail "$PRIMARY_CONTAINER does not accept connections; see: docker logs $PRIMARY_CONTAINER"
IFS='|' read -r recovery databases replication_roles rewind_roles on_primary <<<"$state"
[ "$recovery" = t ] &&
  fail "$PRIMARY_CONTAINER should be the primary but is in recovery; run pulumi up again, or see: docker logs $PRIMARY_CONTAINER"

[ "$databases" = 1 ] ||
  fail "database $DATABASE is missing on $PRIMARY_CONTAINER; run pulumi up again to create it"
[ "$replication_roles" = 1 ] ||
  fail "role $REPLICATION_USER is missing on $PRIMARY_CONTAINER; run pulumi up again to create it"
[ "$rewind_roles" = 1 ] ||
  fail "role $REWIND_USER is missing on $PRIMARY_CONTAINER; run pulumi up again to create it"

# slots_of CONTAINER: this cluster's slots on it, space-separated.
slots_of() { psql_in "$1" -v prefix="$SLOT_PREFIX" <<<"select $CLUSTER_SLOTS"; }
drop_slot() {
  psql_in "$1" -v slot="$2" <<<"select pg_drop_replication_slot(slot_name) from pg_replication_slots
    where slot_name = :'slot' and not active" >/dev/null
  log "dropped stale replication slot $2 on $1"
}

check_standby() {
  local standby=$1 status recovery slots slot
  status=$(docker container inspect -f '{{.State.Status}}' "$standby" 2>/dev/null) ||
    require_container "$standby"
  [ "$status" = running ] ||
    fail "standby $standby is not running; start it (docker start $standby), then run pulumi up again"
  wait_for 60 "$standby to accept connections" standby_state "$standby" ||
    fail "$standby does not accept connections; see: docker logs $standby"
  IFS='|' read -r recovery slots <<<"$state"
  [ "$recovery" = t ] ||
    fail "$standby accepts writes but should be a standby of $PRIMARY_CONTAINER; run pulumi up again"
  for slot in $slots; do drop_slot "$standby" "$slot"; done
}
# All standbys at once: one after another took about a second for five.
checks=()
for standby in ${STANDBYS:-}; do
  check_standby "$standby" &
  checks+=($!)
done
failed=false
for check in ${checks[@]+"${checks[@]}"}; do wait "$check" || failed=true; done
[ "$failed" = false ] || exit 1

expected=" ${SLOTS:-} "
dropped=false
for slot in $on_primary; do
  case "$expected" in
    *" $slot "*) ;;
    *)
      drop_slot "$PRIMARY_CONTAINER" "$slot"
      dropped=true
      ;;
  esac
done
if [ "$dropped" = true ]; then on_primary=$(slots_of "$PRIMARY_CONTAINER"); fi
present=" $on_primary "
for slot in ${SLOTS:-}; do
  case "$present" in
    *" $slot "*) ;;
    *) fail "replication slot $slot is missing on $PRIMARY_CONTAINER; run pulumi up again" ;;
  esac
done
log "$CLUSTER: $PRIMARY_CONTAINER is the primary of ${STANDBYS:-no standbys}; database, roles and slots as configured"
