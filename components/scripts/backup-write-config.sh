# Writes the backup container's files into its /config volume: pgbackrest.conf (the same file
# the instances read), backup.sh (its entrypoint and commands) and the superuser's passfile,
# with which it reaches whichever instance is primary over the cluster's network.
# The repository volume's root is made the postgres user's, mode 0700.
# Environment: CLUSTER, IMAGE, CONFIG_VOLUME, REPOSITORY_VOLUME, PGBACKREST_CONF, BACKUP_SCRIPT,
#   SUPERUSER, and the secret SUPERUSER_PASSWORD.
require_env CLUSTER IMAGE CONFIG_VOLUME REPOSITORY_VOLUME PGBACKREST_CONF BACKUP_SCRIPT SUPERUSER \
  SUPERUSER_PASSWORD

docker run --rm -i --network none --user root --entrypoint /bin/sh \
  --label "postgres-replication.cluster=$CLUSTER" \
  -v "$CONFIG_VOLUME:/config" -v "$REPOSITORY_VOLUME:/mnt/server/archive" \
  -e PGBACKREST_CONF -e BACKUP_SCRIPT -e SUPERUSER -e SUPERUSER_PASSWORD \
  "$IMAGE" -s <<'IN_CONTAINER'
set -eu
umask 077
pgpass_escape() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/:/\\:/g'; }
put() {
  cat > "/config/.$1.tmp"
  chown postgres:postgres "/config/.$1.tmp"
  chmod "$2" "/config/.$1.tmp"
  mv -f "/config/.$1.tmp" "/config/$1"
}
printf '%s\n' "$PGBACKREST_CONF" | put pgbackrest.conf 0640
printf '%s\n' "$BACKUP_SCRIPT" | put backup.sh 0750
printf '*:*:*:%s:%s\n' "$(pgpass_escape "$SUPERUSER")" "$(pgpass_escape "$SUPERUSER_PASSWORD")" |
  put superuser.pgpass 0600
chown root:postgres /config
chmod 0750 /config
chown postgres:postgres /mnt/server/archive
chmod 0700 /mnt/server/archive
IN_CONTAINER
log "backup configuration written to volume $CONFIG_VOLUME"
