# Writes a Patroni member's configuration into its /config volume: /config/patroni/10-patroni.yml
# (no secrets) and 20-secrets.yml (the passwords, mode 0600), which Patroni merges in
# alphabetical order. Makes the data volume the postgres user's. A running member reloads.
# Environment: CLUSTER, CONTAINER, IMAGE, CONFIG_VOLUME, DATA_VOLUME, ARCHIVE_VOLUME (empty
#   when there is no archive), PATRONI_YML, API_USER, PGBACKREST_CONF (empty without backups),
#   and the secrets API_PASSWORD, SUPERUSER_PASSWORD, REPLICATION_PASSWORD, REWIND_PASSWORD.
require_env CLUSTER CONTAINER IMAGE CONFIG_VOLUME DATA_VOLUME PATRONI_YML API_USER API_PASSWORD \
  SUPERUSER_PASSWORD REPLICATION_PASSWORD REWIND_PASSWORD

archive_mount=()
if [ -n "${ARCHIVE_VOLUME:-}" ]; then archive_mount=(-v "$ARCHIVE_VOLUME:/mnt/server/archive"); fi

# Values travel as environment variables named on the command line (docker copies them from
# this process), never as text; python3 (Patroni's own runtime) writes them as JSON, which
# YAML reads as it is, whatever characters a password holds.
docker run --rm -i --network none --user root --entrypoint /bin/sh \
  --label "postgres-replication.cluster=$CLUSTER" \
  -v "$CONFIG_VOLUME:/config" -v "$DATA_VOLUME:/data" "${archive_mount[@]}" \
  -e PATRONI_YML -e API_USER -e API_PASSWORD -e SUPERUSER_PASSWORD -e REPLICATION_PASSWORD \
  -e REWIND_PASSWORD -e PGBACKREST_CONF \
  "$IMAGE" -s <<'IN_CONTAINER'
set -eu
umask 077
mkdir -p /config/patroni
put() {
  cat > "/config/patroni/.$1.tmp"
  chown postgres:postgres "/config/patroni/.$1.tmp"
  chmod "$2" "/config/patroni/.$1.tmp"
  mv -f "/config/patroni/.$1.tmp" "/config/patroni/$1"
}
printf '%s\n' "$PATRONI_YML" | put 10-patroni.yml 0640
python3 -c '
import json, os
e = os.environ
print(json.dumps({
    "restapi": {"authentication": {"username": e["API_USER"], "password": e["API_PASSWORD"]}},
    "postgresql": {"authentication": {
        "superuser": {"password": e["SUPERUSER_PASSWORD"]},
        "replication": {"password": e["REPLICATION_PASSWORD"]},
        "rewind": {"password": e["REWIND_PASSWORD"]},
    }},
}))' | put 20-secrets.yml 0600
if [ -n "${PGBACKREST_CONF:-}" ]; then
  printf '%s\n' "$PGBACKREST_CONF" > /config/.pgbackrest.conf.tmp
  chown postgres:postgres /config/.pgbackrest.conf.tmp
  chmod 0640 /config/.pgbackrest.conf.tmp
  mv -f /config/.pgbackrest.conf.tmp /config/pgbackrest.conf
fi
chown root:postgres /config /config/patroni
chmod 0750 /config /config/patroni
chown postgres:postgres /data
chmod 0700 /data
if [ -d /mnt/server/archive ]; then
  chown postgres:postgres /mnt/server/archive
  chmod 0700 /mnt/server/archive
fi
IN_CONTAINER
log "Patroni configuration written to volume $CONFIG_VOLUME"

if container_running "$CONTAINER"; then
  # Patroni re-reads its files on SIGHUP; settings that need a restart show as pending_restart.
  docker kill -s HUP "$CONTAINER" >/dev/null
  log "$CONTAINER reloaded its Patroni configuration"
fi
