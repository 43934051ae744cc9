#!/bin/sh
# Runs inside an instance's container, or in a throwaway container on the instance's volumes.
# postgres-replication writes it to /config together with instance.env, which says what the
# instance should be (ROLE) and where its primary is. POSIX sh: the image may not have bash.
#
#   instance.sh start postgres ARGS...   container entrypoint: guard, then the image's entrypoint
#   instance.sh clone                    base backup from the primary into an empty /data
#   instance.sh rewind                   make a former primary (or a diverged standby) follow
#                                        the primary again: pg_rewind, else a fresh clone
#   instance.sh reclone                  discard /data and clone again
#   instance.sh restore                  a restored cluster's first primary (restore.sh)
#   instance.sh initialise               from the image's init scripts at a new primary's first
#                                        start: the replication role, the pgBackRest stanza
set -eu

# shellcheck source=/dev/null
. /config/instance.env
PGDATA=/data

log() { echo "[$INSTANCE_NAME] $*" >&2; }

# Docker's DNS passes a name it does not know (a peer whose container does not exist yet) on to
# the host's resolver, which drops some queries when many come at once; glibc retries after 5 s
# by default, which held up a new standby's clone by seconds. Retry after 1 s instead.
export RES_OPTIONS="${RES_OPTIONS:-timeout:1 attempts:5}"

as_postgres() {
  if [ "$(id -u)" != 0 ]; then
    "$@"
  elif command -v gosu >/dev/null 2>&1; then
    gosu postgres "$@"
  elif command -v su-exec >/dev/null 2>&1; then
    su-exec postgres "$@"
  else
    setpriv --reuid=postgres --regid=postgres --init-groups "$@"
  fi
}

prepare_data_dir() {
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 0700 "$PGDATA"
}

wipe_data_dir() {
  find "$PGDATA" -mindepth 1 -delete
}

# Standbys take primary_conninfo and primary_slot_name from /config/postgresql.conf, so that
# pointing them at another primary is a reload. pg_basebackup -R and pg_rewind leave copies in
# postgresql.auto.conf that would take precedence; remove them.
drop_auto_conninfo() {
  auto="$PGDATA/postgresql.auto.conf"
  [ -f "$auto" ] || return 0
  sed -i '/^[[:space:]]*primary_conninfo/d; /^[[:space:]]*primary_slot_name/d' "$auto"
  if grep -qi 'password' "$auto"; then
    log "refusing to keep a password in $auto"
    exit 1
  fi
}

mark_standby() {
  as_postgres touch "$PGDATA/standby.signal"
}

clone() {
  if [ -s "$PGDATA/PG_VERSION" ]; then
    log "data directory already holds a database cluster; not cloning"
    return 0
  fi
  prepare_data_dir
  wipe_data_dir
  log "base backup from $PRIMARY_HOST${SLOT:+ using slot $SLOT}"
  if ! as_postgres pg_basebackup --pgdata="$PGDATA" --format=plain --wal-method=stream \
    --write-recovery-conf --checkpoint=fast --progress --verbose ${SLOT:+--slot="$SLOT"} \
    --dbname="host=$PRIMARY_HOST port=5432 user=$REPLICATION_USER passfile=/config/replication.pgpass application_name=$INSTANCE_NAME"; then
    wipe_data_dir
    log "base backup from $PRIMARY_HOST failed; the data directory was left empty"
    exit 1
  fi
  drop_auto_conninfo
  log "base backup complete"
}

rewind() {
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    clone
    return 0
  fi
  prepare_data_dir
  # A role that may only read files (see roles.sh), not the superuser. The source's control
  # file shows its current timeline because promote.sh checkpoints after every promotion.
  source="host=$PRIMARY_HOST port=5432 user=$REWIND_USER dbname=postgres passfile=/config/rewind.pgpass"
  log "pg_rewind against $PRIMARY_HOST as $REWIND_USER"
  # --config-file: the crash recovery pg_rewind may run first must use this cluster's real
  # settings (wal_log_hints above all), not the unused postgresql.conf in the data directory.
  if as_postgres pg_rewind --target-pgdata="$PGDATA" --progress \
    --config-file=/config/postgresql.conf --restore-target-wal \
    --source-server="$source"; then
    drop_auto_conninfo
    mark_standby
    log "rewound; starts as a standby of $PRIMARY_HOST"
  else
    log "pg_rewind could not make this instance follow $PRIMARY_HOST; taking a fresh base backup"
    wipe_data_dir
    clone
  fi
}

# A standby that was down while the primary wrote past max_slot_wal_keep_size finds its slot
# invalidated, and a primary refuses to stream through such a slot. Recreate it (over the
# replication protocol, which the replication role may use); the WAL in between comes from the
# shared archive through restore_command. An unreachable primary is left for later.
repair_slot() {
  [ -n "$SLOT" ] || return 0
  conninfo="host=$PRIMARY_HOST port=5432 user=$REPLICATION_USER passfile=/config/replication.pgpass replication=true connect_timeout=5"
  slot_state=$(as_postgres psql -X -A -t -d "$conninfo" -c "READ_REPLICATION_SLOT $SLOT" 2>/dev/null) || return 0
  case "$slot_state" in
    "physical|"[0-9A-F]*) return 0 ;;
    "physical|"*)
      log "slot $SLOT on $PRIMARY_HOST was invalidated; recreating it (the missed WAL comes from the archive)"
      as_postgres psql -X -q -d "$conninfo" -c "DROP_REPLICATION_SLOT $SLOT" >/dev/null
      ;;
    *) log "slot $SLOT is missing on $PRIMARY_HOST; creating it" ;;
  esac
  as_postgres psql -X -q -d "$conninfo" -c "CREATE_REPLICATION_SLOT $SLOT PHYSICAL RESERVE_WAL" >/dev/null 2>&1 && return 0
  # The deployment's slot step may have created it meanwhile.
  case "$(as_postgres psql -X -A -t -d "$conninfo" -c "READ_REPLICATION_SLOT $SLOT" 2>/dev/null)" in
    "physical|"[0-9A-F]*) ;;
    *) log "could not create slot $SLOT on $PRIMARY_HOST; streaming waits for the next deployment" ;;
  esac
}

# A new standby's container starts together with its primary, before the replication role
# and the standby's slot may exist there: the clone waits for both. The deployment's readiness
# check bounds the wait and shows this log. Returns 0 when the clone can start.
primary_ready_for_clone() {
  conninfo="host=$PRIMARY_HOST port=5432 user=$REPLICATION_USER passfile=/config/replication.pgpass replication=true connect_timeout=3"
  query="READ_REPLICATION_SLOT $SLOT"
  [ -n "$SLOT" ] || query=IDENTIFY_SYSTEM
  state=$(as_postgres psql -X -A -t -d "$conninfo" -c "$query" 2>/dev/null) || return 1
  [ -n "$SLOT" ] || return 0
  case "$state" in
    "physical|"[0-9A-F]*) return 0 ;;
    "physical|"*)
      # Invalidated while this standby was away (max_slot_wal_keep_size): recreated at once.
      repair_slot
      return 1
      ;;
  esac
  # Missing. A primary already (a new cluster's, whose first initialisation created the
  # replication role): created here at once, rather than after the deployment's promote and
  # slot steps, which then find it in place. A standby about to be promoted: the deployment
  # creates it once it is the primary; one that does not appear within about 20 s of the role
  # working was dropped outside a deployment: created here.
  missing_slot_polls=$((missing_slot_polls + 1))
  if [ "$missing_slot_polls" -ge 80 ] || [ "$(as_postgres psql -X -A -t -d "$conninfo" -c 'SHOW in_hot_standby' 2>/dev/null)" = off ]; then
    repair_slot
    state=$(as_postgres psql -X -A -t -d "$conninfo" -c "$query" 2>/dev/null) || return 1
    case "$state" in "physical|"[0-9A-F]*) return 0 ;; esac
  fi
  return 1
}

# Polls four times a second: a psql that finds no server costs about 7 ms of CPU, so even five
# standbys of a new cluster waiting at once leave the primary's initdb its CPU, and a clone
# starts within a quarter of a second of the primary accepting it.
wait_for_primary() {
  next_log=0
  missing_slot_polls=0
  while :; do
    if primary_ready_for_clone; then return 0; fi
    if [ "$next_log" -le 0 ]; then
      log "waiting for $PRIMARY_HOST to accept $REPLICATION_USER${SLOT:+ and hold slot $SLOT}"
      next_log=40
    fi
    next_log=$((next_log - 1))
    sleep 0.25
  done
}

# resolves NAME: Docker's DNS answers for a running container at once and passes any other name
# on to the host's resolver, which drops a query now and then when containers start together;
# glibc then waits a whole second before it asks again (no shorter wait can be set); a scan of
# sixteen names met one such drop in each of 4 traced first starts. So a lookup gets 0.1 s, then
# one more try of up to 3 s: a running container answers in milliseconds (and a slow answer
# gets the second try), and a dropped query costs 0.1 s instead of 1 s.
# IPv4 only (the networks are IPv4), which halves the queries; images whose getent lacks
# ahostsv4, or that have no timeout, fall back to a plain lookup.
resolves() {
  if command -v timeout >/dev/null 2>&1; then
    for limit in 0.1 3; do
      if timeout "$limit" getent ahostsv4 "$1" >/dev/null 2>&1; then return 0; else status=$?; fi
      [ "$status" = 124 ] || break
    done
    [ "$status" = 2 ] && return 1
  fi
  getent hosts "$1" >/dev/null 2>&1
}

# WAL position of a replication peer ("hi/lo" hex), empty when it does not answer.
peer_lsn() {
  as_postgres psql -X -A -t -F ' ' -d "host=$1 port=5432 user=$REPLICATION_USER passfile=/config/replication.pgpass replication=true connect_timeout=3" \
    -c IDENTIFY_SYSTEM 2>/dev/null | awk 'NF >= 3 { print $3 }'
}

lsn_number() {
  hi=${1%/*}
  lo=${1#*/}
  echo $(((0x$hi << 32) + 0x$lo))
}

# Never initdb a second, empty primary into a cluster that already has data (its primary's
# data volume was lost): standbys could not follow it, and it would hide their data. Stops
# here, saying which standby to promote.
refuse_empty_primary() {
  best=""
  best_lsn=""
  # Every possible peer name (a stopped container does not resolve, so no gap may end the scan).
  n=0
  while [ "$n" -lt 16 ]; do
    n=$((n + 1))
    peer="$CLUSTER-$n"
    [ "$peer" = "$INSTANCE_NAME" ] && continue
    resolves "$peer" || continue
    lsn=$(peer_lsn "$peer")
    [ -n "$lsn" ] || continue
    if [ -z "$best" ] || [ "$(lsn_number "$lsn")" -gt "$(lsn_number "$best_lsn")" ]; then
      best=$peer
      best_lsn=$lsn
    fi
  done
  # A WAL file name anywhere a plain archive (top level) or a pgBackRest repository
  # (archive/<stanza>/<id>/<prefix>/) keeps one.
  archived=$(find /mnt/server/archive -maxdepth 5 -type f -regextype posix-extended \
    -regex '.*/[0-9A-F]{24}[^/]*' 2>/dev/null | head -n 1)
  if [ -n "$best" ]; then
    reason="$INSTANCE_NAME cannot start as the primary: its data volume is empty but the cluster already has data. The most advanced standby is $best (WAL up to $best_lsn); make it the primary: pulumi config set primary ${best##*-} && pulumi up"
  elif [ -n "$archived" ]; then
    reason="$INSTANCE_NAME cannot start as the primary: its data volume is empty but the WAL archive holds this cluster's history and no standby answers. Start a standby (docker start $CLUSTER-N) and make it the primary (pulumi config set primary N && pulumi up), or start over: pulumi destroy, and docker volume rm $CLUSTER-backup when the archive is a kept backup repository"
  else
    return 0
  fi
  log "$reason"
  printf '%s\n' "$reason" >/tmp/postgres-replication-refused
  # Waits instead of exiting, which would only repeat this in a restart loop. When its role
  # changes, the deployment stops it and clones it as a standby (join-standby.sh).
  trap 'exit 1' TERM INT
  while :; do sleep 1; done
}

start() {
  # Each start decides anew (the file outlives a restart).
  rm -f /tmp/postgres-replication-refused
  if [ "$ROLE" = primary ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    refuse_empty_primary
  fi
  if [ "$ROLE" = standby ]; then
    if [ -s "$PGDATA/PG_VERSION" ]; then
      repair_slot
    fi
    if [ ! -s "$PGDATA/PG_VERSION" ]; then
      # Never let the image's entrypoint initdb here: that would be a second, empty primary.
      log "standby with an empty data directory"
      wait_for_primary
      clone
    elif [ ! -f "$PGDATA/standby.signal" ]; then
      # A former primary coming back after a failover: it must not accept writes until it has
      # rejoined, so it starts in recovery.
      log "fenced: no longer the primary, starting read-only as a standby"
      mark_standby
    fi
  fi
  if [ "$ROLE" = primary ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    # The image's first-start initialisation (CREATE DATABASE) must not wait for synchronous
    # standbys that cannot exist yet. Only clients started by this process see this.
    export PGOPTIONS="${PGOPTIONS:+$PGOPTIONS }-c synchronous_commit=local"
    # Work done while the image's temporary initialisation server runs, by an init script of
    # the image's contract (see initialise).
    if [ -d /docker-entrypoint-initdb.d ] && [ -w /docker-entrypoint-initdb.d ]; then
      echo 'sh /config/instance.sh initialise || true' >/docker-entrypoint-initdb.d/postgres-replication-init.sh
    fi
  fi
  exec docker-entrypoint.sh "$@"
}

# restore: the first data directory of a restored cluster's primary (restore.fromCluster). Run
# by restore.sh in a throwaway container that mounts the source's repository read-only at
# /mnt/restore-source, before the instance's own container exists, so that no container of
# this cluster keeps a mount of the source. pgBackRest restores a backup of the source,
# PostgreSQL replays the source's archived WAL up to the target and promotes, then stops;
# the instance's container starts from a primary's data directory. Environment: RESTORE_FROM
# (the source's stanza), RESTORE_TARGET ("latest" or a UTC timestamp).
restore() {
  : "${RESTORE_FROM:?}" "${RESTORE_TARGET:?}"
  if [ -s "$PGDATA/PG_VERSION" ]; then
    log "data directory already holds a database cluster; not restoring"
    return 0
  fi
  # This cluster's own repository holds history of its own: restoring would fork it.
  if [ -n "$(find /mnt/server/archive -type f -print 2>/dev/null | head -n 1)" ]; then
    log "refusing to restore: the repository of $CLUSTER already holds its archive; a restore only starts a new cluster"
    exit 1
  fi
  prepare_data_dir
  wipe_data_dir
  if [ "$RESTORE_TARGET" = latest ]; then
    set -- --type=default
  else
    set -- --type=time --target="$RESTORE_TARGET" --target-action=promote
  fi
  log "pgBackRest restore of $RESTORE_FROM (target: $RESTORE_TARGET)"
  if ! out=$(as_postgres pgbackrest --config=/config/pgbackrest.conf --stanza="$RESTORE_FROM" \
    --log-level-console=warn "$@" restore 2>&1); then
    wipe_data_dir
    log "pgBackRest could not restore $RESTORE_FROM: $(printf '%s\n' "$out" | grep -E 'ERROR|WARN' | head -n 3 | tr '\n' ' ' | sed 's/ *$//')"
    exit 1
  fi
  # Recovery on the local socket only, with this instance's configuration: restore_command
  # comes from pgBackRest (the source's stanza), archive_command is this cluster's own.
  recovery_log=/tmp/restore-recovery.log
  if ! as_postgres pg_ctl --pgdata="$PGDATA" --log="$recovery_log" --wait --timeout=86400 \
    --options="-c config_file=/config/postgresql.conf -c listen_addresses='' -c unix_socket_directories=/tmp" \
    start >/dev/null; then
    restore_failed "$recovery_log"
  fi
  until [ "$(as_postgres psql -X -A -t -h /tmp -U "$SUPERUSER" -d postgres -c 'select pg_is_in_recovery()' 2>/dev/null)" = f ]; do
    as_postgres pg_ctl --pgdata="$PGDATA" status >/dev/null 2>&1 || restore_failed "$recovery_log"
    sleep 1
  done
  # The control file then shows the new timeline (as after promote.sh); a clean stop leaves
  # nothing to replay at the container's first start.
  as_postgres psql -X -q -h /tmp -U "$SUPERUSER" -d postgres -c checkpoint
  as_postgres pg_ctl --pgdata="$PGDATA" --mode=fast --wait stop >/dev/null
  # pgBackRest's recovery settings would outlive the restore in postgresql.auto.conf (and be
  # copied to every standby): the source's restore_command above all.
  as_postgres sed -i '/^# Recovery settings generated by pgBackRest/d; /^restore_command[[:space:]]*=/d; /^recovery_target[a-z_]*[[:space:]]*=/d' \
    "$PGDATA/postgresql.auto.conf"
  log "restored $RESTORE_FROM ($RESTORE_TARGET): $(grep -E 'recovery stopping|last completed transaction|selected new timeline' "$recovery_log" | sed 's/^.*LOG: *//' | tr '\n' ';')"
}

# restore_failed LOG: PostgreSQL's reason, and an empty data directory for the next try. The
# poll above may have been turned away meanwhile ("the database system is in recovery mode"):
# that is no reason.
restore_failed() {
  as_postgres pg_ctl --pgdata="$PGDATA" --mode=immediate stop >/dev/null 2>&1 || true
  reason=$(grep -E 'FATAL|PANIC' "$1" |
    grep -v -E 'the database system is (starting up|in recovery mode|shutting down|not yet accepting connections)' |
    tail -n 2 | sed 's/^.*\(FATAL\|PANIC\): *//' | tr '\n' ' ' | sed 's/ *$//')
  wipe_data_dir
  tail -n 5 "$1" >&2
  log "recovery of $RESTORE_FROM to $RESTORE_TARGET failed: ${reason:-see the log above}"
  exit 1
}

reclone() {
  prepare_data_dir
  wipe_data_dir
  clone
}

# initialise: run as the image's postgres user while a new primary's temporary initialisation
# server runs (local connections only). Never fails the start: the deployment's roles and
# backup-stanza steps do the same afterwards in any case, and say why when they cannot.
#   - The replication role (LOGIN and REPLICATION; roles.sh then sets the rest of it), so that
#     new standbys clone as soon as the primary accepts connections, rather than after the
#     deployment's promote and roles steps.
#   - The pgBackRest stanza: archive_command fails until it exists, and the temporary server,
#     when it stops, waits out the archiver's retries (about 3 s).
initialise() {
  if [ -s /config/replication.password ]; then
    if REPLICATION_PASSWORD=$(cat /config/replication.password) psql -X -q -v ON_ERROR_STOP=1 \
      -U "$SUPERUSER" -d postgres -v replication_user="$REPLICATION_USER" >/dev/null <<'SQL'; then
SET log_statement = 'none';
SET log_min_duration_statement = -1;
SET log_min_error_statement = 'panic';
\getenv replication_password REPLICATION_PASSWORD
SELECT format('CREATE ROLE %I WITH LOGIN REPLICATION NOINHERIT PASSWORD %L',
  :'replication_user', :'replication_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'replication_user') \gexec
SQL
      log "role $REPLICATION_USER created"
    else
      log "role $REPLICATION_USER not created yet (the roles step will)"
    fi
  fi
  [ -f /config/pgbackrest.conf ] || return 0
  # --no-online: the system identifier and version from pg_control, without the SQL queries
  # (pgBackRest 2.45 waits about 0.1 s on each): 0.03 s instead of 0.6 s.
  if out=$(pgbackrest --config=/config/pgbackrest.conf --stanza="$CLUSTER" \
    --log-level-console=warn --no-online stanza-create 2>&1); then
    log "pgBackRest stanza $CLUSTER created"
  else
    log "pgBackRest stanza $CLUSTER not created yet (the backup-stanza step will): $out"
  fi
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
  start) start "$@" ;;
  clone) clone ;;
  rewind) rewind ;;
  reclone) reclone ;;
  restore) restore ;;
  initialise) initialise ;;
  *)
    log "usage: instance.sh start|clone|rewind|reclone|restore|initialise"
    exit 2
    ;;
esac
