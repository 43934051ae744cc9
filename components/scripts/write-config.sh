# Writes an instance's configuration and password files into its /config volume, then, if the
# instance is running, reloads it so that a change applies in place.
# Environment: CLUSTER, CONTAINER, PRIMARY_CONTAINER (else read from INSTANCE_ENV), IMAGE,
#   CONFIG_VOLUME, ARCHIVE_VOLUME (empty when there is no archive),
#   ROLE (primary or standby), POSTGRESQL_CONF, PG_HBA_CONF, PG_IDENT_CONF, INSTANCE_ENV, INSTANCE_SCRIPT, SUPERUSER,
#   REPLICATION_USER, REWIND_USER, and the secrets SUPERUSER_PASSWORD, REPLICATION_PASSWORD and
#   REWIND_PASSWORD; PGBACKREST_CONF (empty without backups).
require_env CONTAINER ROLE IMAGE CONFIG_VOLUME POSTGRESQL_CONF PG_HBA_CONF PG_IDENT_CONF \
  INSTANCE_ENV INSTANCE_SCRIPT SUPERUSER REPLICATION_USER SUPERUSER_PASSWORD REPLICATION_PASSWORD \
  REWIND_USER REWIND_PASSWORD

archive_mount=()
if [ -n "${ARCHIVE_VOLUME:-}" ]; then archive_mount=(-v "$ARCHIVE_VOLUME:/mnt/server/archive"); fi

# The files are written by a throwaway container of the same image, so that ownership uses
# that image's postgres user (its uid differs between images). Values travel as environment
# variables named on the command line (docker copies them from this process), never as text.
docker run --rm -i --network none --user root --entrypoint /bin/sh \
  --label "postgres-replication.cluster=${CLUSTER:-}" \
  -v "$CONFIG_VOLUME:/config" "${archive_mount[@]}" \
  -e POSTGRESQL_CONF -e PG_HBA_CONF -e PG_IDENT_CONF -e INSTANCE_ENV -e INSTANCE_SCRIPT \
  -e SUPERUSER -e REPLICATION_USER -e SUPERUSER_PASSWORD -e REPLICATION_PASSWORD \
  -e REWIND_USER -e REWIND_PASSWORD -e PGBACKREST_CONF \
  "$IMAGE" -s <<'IN_CONTAINER'
set -eu
umask 077

# pgpass fields escape backslash and colon with a backslash.
pgpass_escape() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/:/\\:/g'; }

# put FILE MODE: content from stdin, replaced atomically so a reload never sees half a file.
put() {
  cat > "/config/.$1.tmp"
  chown postgres:postgres "/config/.$1.tmp"
  chmod "$2" "/config/.$1.tmp"
  mv -f "/config/.$1.tmp" "/config/$1"
}

printf '%s\n' "$POSTGRESQL_CONF" | put postgresql.conf 0640
printf '%s\n' "$PG_HBA_CONF" | put pg_hba.conf 0640
printf '%s\n' "$PG_IDENT_CONF" | put pg_ident.conf 0640
printf '%s\n' "$INSTANCE_ENV" | put instance.env 0640
printf '%s\n' "$INSTANCE_SCRIPT" | put instance.sh 0750
if [ -n "${PGBACKREST_CONF:-}" ]; then printf '%s\n' "$PGBACKREST_CONF" | put pgbackrest.conf 0640; fi
printf '%s' "$SUPERUSER_PASSWORD" | put superuser.password 0600
# For a new primary's first initialisation (instance.sh initialise).
printf '%s' "$REPLICATION_PASSWORD" | put replication.password 0600
printf '*:*:*:%s:%s\n' "$(pgpass_escape "$SUPERUSER")" "$(pgpass_escape "$SUPERUSER_PASSWORD")" |
  put superuser.pgpass 0600
printf '*:*:*:%s:%s\n' "$(pgpass_escape "$REPLICATION_USER")" "$(pgpass_escape "$REPLICATION_PASSWORD")" |
  put replication.pgpass 0600
printf '*:*:*:%s:%s\n' "$(pgpass_escape "$REWIND_USER")" "$(pgpass_escape "$REWIND_PASSWORD")" |
  put rewind.pgpass 0600
chown root:postgres /config
chmod 0750 /config

if [ -d /mnt/server/archive ]; then
  chown postgres:postgres /mnt/server/archive
  chmod 0700 /mnt/server/archive
fi
IN_CONTAINER
log "configuration written to volume $CONFIG_VOLUME"

if [ "$(docker container inspect -f '{{.State.Status}}' "$CONTAINER" 2>/dev/null)" = restarting ]; then
  # Failing to start (a bad setting): Docker's growing restart delay would postpone the fix.
  log "$CONTAINER was failing to start; starting it again with the new configuration"
  docker restart -t 10 "$CONTAINER" >/dev/null || true
  exit 0
fi
if ! container_running "$CONTAINER"; then
  exit 0
fi
if docker exec "$CONTAINER" test -e /tmp/postgres-replication-refused 2>/dev/null; then
  if [ "$ROLE" = standby ]; then
    # It refused to start as an empty primary; as a standby it clones at its start.
    log "$CONTAINER refused to start as the primary; restarting it as a standby"
    docker restart -t 10 "$CONTAINER" >/dev/null
    exit 0
  fi
  log "$CONTAINER refused to start (see: docker logs $CONTAINER); the new configuration applies when it starts"
  exit 0
fi
if ! docker exec "$CONTAINER" test -s /data/PG_VERSION 2>/dev/null; then
  log "$CONTAINER has no data yet (it waits to clone from its primary); the new configuration applies when it starts"
  exit 0
fi
wait_for 60 "$CONTAINER to accept connections" accepts_sql "$CONTAINER"
if [ "$ROLE" = primary ] && in_recovery "$CONTAINER"; then
  # It is about to be promoted: it must keep streaming from the old primary until then, so
  # its new settings (no replication source) apply at promotion (promote.sh reloads).
  log "$CONTAINER is still a standby; its new configuration applies when it is promoted"
  exit 0
fi
# A setting that needs a restart reports "setting could not be applied", or, when its line was
# removed (back to the default), "cannot be changed without restarting": not errors here.
errors=$(psql_in "$CONTAINER" -c \
  "select format('%s line %s: %s', sourcefile, sourceline, error) from pg_file_settings
   where error is not null and error <> 'setting could not be applied'
     and error not like 'parameter \"%\" cannot be changed without restarting the server'")
if [ -n "$errors" ]; then
  fail "$CONTAINER rejects the new configuration: $errors"
fi
loaded_before=$(psql_in "$CONTAINER" -c 'select pg_conf_load_time()')
psql_in "$CONTAINER" -c 'select pg_reload_conf()' >/dev/null
reloaded() { [ "$(psql_in "$CONTAINER" -c 'select pg_conf_load_time()')" != "$loaded_before" ]; }
wait_for 30 "$CONTAINER to reload its configuration" reloaded
log "$CONTAINER reloaded its configuration"

# Settings that only a restart applies (shared_buffers, max_connections, ...). Standbys are
# configured before the primary, so a rolling restart reaches the primary last, except when
# that would start a standby below its primary: a hot standby refuses to run recovery with
# less max_connections, max_worker_processes, max_wal_senders, max_prepared_transactions or
# max_locks_per_transaction than the primary (PostgreSQL 15 "Hot Standby"). A standby that
# lowers one of them below the primary's running value waits; the primary, once restarted
# itself, restarts every standby that still has settings pending, one at a time.
MUST_MATCH_PRIMARY="'max_connections', 'max_worker_processes', 'max_wal_senders',
  'max_prepared_transactions', 'max_locks_per_transaction'"

pending_restart() {
  psql_in "$1" -c "select string_agg(name, ', ' order by name) from pg_settings where pending_restart"
}

# restart INSTANCE SETTINGS
restart() {
  log "restarting $1 to apply: $2"
  docker restart -t 60 "$1" >/dev/null
  wait_for 120 "$1 to accept connections after its restart" accepts_sql "$1" ||
    fail "$1 did not come back after its restart; see: docker logs $1"
  log "$1 restarted"
}

# pg_int VALUE: an integer setting as PostgreSQL reads it from a file (decimal, 0x hexadecimal or
# 0 octal); fails for any other form, which is then not compared.
pg_int() {
  case $1 in
    0[xX]*) [[ $1 =~ ^0[xX][0-9a-fA-F]+$ ]] && echo $((16#${1:2})) ;;
    0*) [[ $1 =~ ^0[0-7]*$ ]] && echo $((8#$1)) ;;
    *) [[ $1 =~ ^[1-9][0-9]*$ ]] && echo $((10#$1)) ;;
  esac
}

# lowered_below PRIMARY: sets `lowered` to "name to new (PRIMARY runs old)" for each of this
# standby's pending MUST_MATCH_PRIMARY settings whose new value is lower than PRIMARY's running
# value. The new value is the last one in the configuration files, else the built-in default.
lowered_below() {
  local primary=$1 running pending name value new current
  local -A primary_value=()
  lowered=()
  accepts_sql "$primary" || return 0
  running=$(psql_in "$primary" -c \
    "select name, setting from pg_settings where name in ($MUST_MATCH_PRIMARY)")
  while IFS='|' read -r name value; do
    if [ -n "$name" ]; then primary_value[$name]=$value; fi
  done <<<"$running"
  pending=$(psql_in "$CONTAINER" -c \
    "select s.name, coalesce(f.setting, s.boot_val) from pg_settings s
     left join (select distinct on (lower(name)) lower(name) as name, setting
                from pg_file_settings order by lower(name), seqno desc) f using (name)
     where s.pending_restart and s.name in ($MUST_MATCH_PRIMARY) order by s.name")
  while IFS='|' read -r name value; do
    [ -n "$name" ] || continue
    current=${primary_value[$name]:-}
    if new=$(pg_int "$value") && [[ $current =~ ^[0-9]+$ ]] && ((new < current)); then
      lowered+=("$name to $value ($primary runs $current)")
    fi
  done <<<"$pending"
}

pending=$(pending_restart "$CONTAINER")
if [ -n "$pending" ] && [ "$ROLE" = standby ]; then
  primary=${PRIMARY_CONTAINER:-$(sed -n 's/^PRIMARY_HOST=//p' <<<"$INSTANCE_ENV")}
  lowered_below "$primary"
  if ((${#lowered[@]} > 0)); then
    printf -v items '%s, ' "${lowered[@]}"
    log "$CONTAINER waits for $primary to restart first: it lowers ${items%, }"
    exit 0
  fi
fi
if [ -n "$pending" ]; then
  restart "$CONTAINER" "$pending"
fi

if [ "$ROLE" = primary ] && [ -n "${CLUSTER:-}" ]; then
  streams_from_primary() {
    [ "$(psql_in "$CONTAINER" -c "select state from pg_stat_replication where application_name = '$1'")" = streaming ]
  }
  # A standby checks its settings at startup against the primary's as last recorded in the WAL
  # it replayed: it must have replayed the primary's restart before it restarts itself, or have
  # paused replay there because the primary now runs a higher value (its restart ends that).
  primary_lsn=$(psql_in "$CONTAINER" -c 'select pg_current_wal_lsn()')
  replayed() {
    [ "$(psql_in "$1" -c "select pg_last_wal_replay_lsn() >= '$primary_lsn'::pg_lsn
      or pg_get_wal_replay_pause_state() <> 'not paused'")" = t ]
  }
  standbys=$(docker ps --filter "label=postgres-replication.cluster=$CLUSTER" \
    --filter label=postgres-replication.instance --format '{{.Names}}' | sort)
  for standby in $standbys; do
    [ "$standby" != "$CONTAINER" ] || continue
    if ! accepts_sql "$standby" || ! in_recovery "$standby"; then continue; fi
    standby_pending=$(pending_restart "$standby")
    [ -n "$standby_pending" ] || continue
    wait_for 120 "$standby to replay $CONTAINER's WAL up to $primary_lsn" replayed "$standby" ||
      fail "$standby was not restarted: it has not caught up with $CONTAINER; see: docker logs $standby"
    restart "$standby" "$standby_pending"
    wait_for 60 "$standby to resume recovery" in_recovery "$standby" ||
      fail "$standby is not a standby after its restart; see: docker logs $standby"
    if wait_for 60 "$standby to stream from $CONTAINER" streams_from_primary "$standby"; then
      log "$standby streams from $CONTAINER again"
    else
      log "$standby is not streaming yet; see: docker logs $standby"
    fi
  done
fi
