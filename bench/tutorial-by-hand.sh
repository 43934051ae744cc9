#!/usr/bin/env bash
# The PostgreSQL replication tutorial (see the README's walkthrough) typed by hand as a bare
# script: the baseline `npm run bench` compares `up` with. One primary, one standby, the same
# image, nothing this project adds (no generated secrets, no slots, no checks, no state).
#
#   bench/tutorial-by-hand.sh up     network, volumes, config files, primary, wait until it
#                                    accepts connections, replication user, pg_basebackup into
#                                    the standby's volume, standby, wait until it streams;
#                                    prints "step: NAME N s" per step, then
#                                    "tutorial by hand: N s" (bash start-up excluded)
#   bench/tutorial-by-hand.sh down   removes everything `up` made (idempotent)
#
# Environment: NAME (prefix of every Docker object and the network, default prb-hand), IMAGE
# (default postgres-replication-test:15), HOST_PORT (primary's host port, standby +1, default
# 16190), WORK_DIR (host directory for the config files and the archive, default
# /tmp/$NAME; the Docker engine must see it: the tutorial bind-mounts host directories),
# POLL_SECONDS (pause between two checks of a wait, default 1: `until ...; do sleep 1; done`,
# as people write it; the benchmark also runs it with 0.1).
#
# Otherwise as fast as a careful person would make it, so the comparison is not flattered: the
# base backup asks for a fast checkpoint (the tutorial's default spread checkpoint can only be
# slower), and the configuration is written straight to host directories as the tutorial does
# (no throwaway container).
set -euo pipefail

NAME=${NAME:-prb-hand}
IMAGE=${IMAGE:-postgres-replication-test:15}
HOST_PORT=${HOST_PORT:-16190}
WORK_DIR=${WORK_DIR:-/tmp/$NAME}
POLL_SECONDS=${POLL_SECONDS:-1}
# Labelled like the project's objects, so the bench's clean-up by label removes leftovers.
LABEL="postgres-replication.cluster=$NAME"
PRIMARY=$NAME-primary
STANDBY=$NAME-2

log() { printf '%s\n' "$*" >&2; }

# A throwaway password for a throwaway cluster; it is never printed.
password() { od -An -N12 -tx1 /dev/urandom | tr -d ' \n'; }

# until_ok SECONDS DESCRIPTION COMMAND...: retry every POLL_SECONDS.
until_ok() {
  local deadline=$((SECONDS + $1)) description=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || {
      log "gave up waiting for $description"
      return 1
    }
    sleep "$POLL_SECONDS"
  done
}

# step NAME: prints the seconds since the previous step (or the start).
step() {
  local now=$EPOCHREALTIME
  awk -v a="$last_step" -v b="$now" -v n="$1" 'BEGIN { printf "step: %s %.2f s\n", n, b - a }'
  last_step=$now
}

psql_primary() { docker exec -u postgres "$PRIMARY" psql -X -At -U postgresadmin -d postgresdb "$@"; }

down() {
  docker rm -f "$PRIMARY" "$STANDBY" >/dev/null 2>&1 || true
  docker volume rm "$NAME-primary-data" "$NAME-2-data" >/dev/null 2>&1 || true
  docker network rm "$NAME" >/dev/null 2>&1 || true
  if [ -d "$WORK_DIR" ]; then
    # The archive holds files of the image's postgres user: removed from inside a container.
    docker run --rm --network none --entrypoint /bin/rm -v "$WORK_DIR:/work" "$IMAGE" \
      -rf /work/archive >/dev/null 2>&1 || true
    rm -rf "$WORK_DIR"
  fi
}

write_config() {
  local dir=$WORK_DIR/$1/config
  mkdir -p "$dir"
  # The tutorial's postgresql.conf, its `ata_directory` typo fixed (PostgreSQL refuses to start
  # on an unknown parameter).
  cat >"$dir/postgresql.conf" <<'CONF'
data_directory = '/data'
hba_file = '/config/pg_hba.conf'
ident_file = '/config/pg_ident.conf'

port = 5432
listen_addresses = '*'
max_connections = 100
shared_buffers = 128MB
dynamic_shared_memory_type = posix
max_wal_size = 1GB
min_wal_size = 80MB
log_timezone = 'Etc/UTC'
datestyle = 'iso, mdy'
timezone = 'Etc/UTC'

lc_messages = 'en_US.utf8'
lc_monetary = 'en_US.utf8'
lc_numeric = 'en_US.utf8'
lc_time = 'en_US.utf8'

default_text_search_config = 'pg_catalog.english'

wal_level = replica
archive_mode = on
archive_command = 'test ! -f /mnt/server/archive/%f && cp %p /mnt/server/archive/%f'
max_wal_senders = 3
CONF
  # The tutorial names these files but never shows them; the smallest that lets the
  # replication user in over the network.
  cat >"$dir/pg_hba.conf" <<'HBA'
local   all          all                        trust
host    replication  replicationUser  samenet   scram-sha-256
host    all          all              samenet   scram-sha-256
HBA
  : >"$dir/pg_ident.conf"
}

up() {
  local started=$EPOCHREALTIME superuser_password replication_password
  last_step=$started
  superuser_password=$(password)
  replication_password=$(password)

  docker network create --label "$LABEL" "$NAME" >/dev/null
  docker volume create --label "$LABEL" "$NAME-primary-data" >/dev/null
  docker volume create --label "$LABEL" "$NAME-2-data" >/dev/null
  write_config primary
  write_config 2
  mkdir -p "$WORK_DIR/archive"
  chmod 1777 "$WORK_DIR/archive"
  step "network, volumes, config files"

  # Values travel as environment variables named on the command line, never as text.
  POSTGRES_PASSWORD=$superuser_password docker run -d --name "$PRIMARY" --label "$LABEL" \
    --network "$NAME" \
    -e POSTGRES_USER=postgresadmin -e POSTGRES_PASSWORD -e POSTGRES_DB=postgresdb -e PGDATA=/data \
    -v "$NAME-primary-data:/data" -v "$WORK_DIR/primary/config:/config" \
    -v "$WORK_DIR/archive:/mnt/server/archive" \
    -p "127.0.0.1:$HOST_PORT:5432" \
    "$IMAGE" -c config_file=/config/postgresql.conf >/dev/null
  step "primary container"
  # Over TCP: the image's first-start initialisation runs a server on the socket only.
  until_ok 120 "$PRIMARY to accept connections" \
    docker exec "$PRIMARY" pg_isready -q -h 127.0.0.1 -p 5432
  step "primary accepts connections"

  # createuser -P -c 5 --replication replicationUser, without the prompt.
  REPLICATION_PASSWORD=$replication_password docker exec -i -u postgres -e REPLICATION_PASSWORD \
    "$PRIMARY" psql -X -q -v ON_ERROR_STOP=1 -U postgresadmin -d postgresdb <<'SQL'
\getenv p REPLICATION_PASSWORD
CREATE ROLE "replicationUser" WITH REPLICATION LOGIN CONNECTION LIMIT 5 PASSWORD :'p';
SQL
  step "replication user"

  # As root, as in the tutorial; the standby's entrypoint hands the files to postgres.
  PGPASSWORD=$replication_password docker run --rm --label "$LABEL" --network "$NAME" \
    -e PGPASSWORD -v "$NAME-2-data:/data" --entrypoint pg_basebackup "$IMAGE" \
    -h "$PRIMARY" -p 5432 -U replicationUser -D /data/ -Fp -Xs -R --checkpoint=fast >/dev/null
  step "pg_basebackup"

  POSTGRES_PASSWORD=$superuser_password docker run -d --name "$STANDBY" --label "$LABEL" \
    --network "$NAME" \
    -e POSTGRES_USER=postgresadmin -e POSTGRES_PASSWORD -e POSTGRES_DB=postgresdb -e PGDATA=/data \
    -v "$NAME-2-data:/data" -v "$WORK_DIR/2/config:/config" -v "$WORK_DIR/archive:/archive" \
    -p "127.0.0.1:$((HOST_PORT + 1)):5432" \
    "$IMAGE" -c config_file=/config/postgresql.conf >/dev/null
  step "standby container"
  # "Test the replication": the primary reports the standby as streaming.
  streaming() {
    [ "$(psql_primary -c "select count(*) from pg_stat_replication where state = 'streaming'")" = 1 ]
  }
  until_ok 120 "$STANDBY to stream" streaming
  step "standby streams"

  local elapsed
  elapsed=$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
  printf 'tutorial by hand: %s s\n' "$elapsed"
}

case "${1:-}" in
  up)
    down
    trap 'log "tutorial by hand failed; removing what it made"; down' ERR
    up
    ;;
  down) down ;;
  *)
    log "usage: tutorial-by-hand.sh up|down"
    exit 2
    ;;
esac
