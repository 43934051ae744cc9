# Writes an instance's configuration and password files into its /config volume, then, if the
# instance is running, reloads it so that a change applies in place.
# Environment: CONTAINER, IMAGE, CONFIG_VOLUME, ARCHIVE_VOLUME (empty when there is no archive),
#   ROLE (primary or standby), POSTGRESQL_CONF, PG_HBA_CONF, PG_IDENT_CONF, INSTANCE_ENV, INSTANCE_SCRIPT, SUPERUSER,
#   REPLICATION_USER, and the secrets SUPERUSER_PASSWORD and REPLICATION_PASSWORD.
require_env CONTAINER ROLE IMAGE CONFIG_VOLUME POSTGRESQL_CONF PG_HBA_CONF PG_IDENT_CONF \
  INSTANCE_ENV INSTANCE_SCRIPT SUPERUSER REPLICATION_USER SUPERUSER_PASSWORD REPLICATION_PASSWORD

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
printf '%s' "$SUPERUSER_PASSWORD" | put superuser.password 0600
printf '*:*:*:%s:%s\n' "$(pgpass_escape "$SUPERUSER")" "$(pgpass_escape "$SUPERUSER_PASSWORD")" |
  put superuser.pgpass 0600
printf '*:*:*:%s:%s\n' "$(pgpass_escape "$REPLICATION_USER")" "$(pgpass_escape "$REPLICATION_PASSWORD")" |
  put replication.pgpass 0600
chown root:postgres /config
chmod 0750 /config

if [ -d /mnt/server/archive ]; then
  chown postgres:postgres /mnt/server/archive
  chmod 0700 /mnt/server/archive
fi
IN_CONTAINER
log "configuration written to volume $CONFIG_VOLUME"

if ! container_running "$CONTAINER"; then
  exit 0
fi
wait_for 60 "$CONTAINER to accept connections" accepts_sql "$CONTAINER"
if [ "$ROLE" = primary ] && in_recovery "$CONTAINER"; then
  # It is about to be promoted: it must keep streaming from the old primary until then, so
  # its new settings (no replication source) apply at promotion (promote.sh reloads).
  log "$CONTAINER is still a standby; its new configuration applies when it is promoted"
  exit 0
fi
# A setting that needs a restart reports "setting could not be applied": not an error here.
errors=$(psql_in "$CONTAINER" -c \
  "select format('%s line %s: %s', sourcefile, sourceline, error) from pg_file_settings
   where error is not null and error <> 'setting could not be applied'")
if [ -n "$errors" ]; then
  fail "$CONTAINER rejects the new configuration: $errors"
fi
loaded_before=$(psql_in "$CONTAINER" -c 'select pg_conf_load_time()')
psql_in "$CONTAINER" -c 'select pg_reload_conf()' >/dev/null
reloaded() { [ "$(psql_in "$CONTAINER" -c 'select pg_conf_load_time()')" != "$loaded_before" ]; }
wait_for 30 "$CONTAINER to reload its configuration" reloaded
log "$CONTAINER reloaded its configuration"

# Settings that only a restart applies (shared_buffers, max_connections, ...). Standbys are
# configured before the primary, so a rolling restart reaches the primary last.
pending=$(psql_in "$CONTAINER" -c \
  "select string_agg(name, ', ' order by name) from pg_settings where pending_restart")
if [ -n "$pending" ]; then
  log "restarting $CONTAINER to apply: $pending"
  docker restart -t 60 "$CONTAINER" >/dev/null
  wait_for 120 "$CONTAINER to accept connections after its restart" accepts_sql "$CONTAINER"
  log "$CONTAINER restarted"
fi
