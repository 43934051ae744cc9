#!/bin/sh
# The backup container's entrypoint and commands. postgres-replication writes it to the
# container's /config volume with pgbackrest.conf and the superuser's passfile. POSIX sh.
#
#   backup.sh start       entrypoint (root): first full backup in the background, then cron
#   backup.sh now         a full backup now; prints its label (docker exec ... backup-now)
#   backup.sh scheduled   cron's job: a full backup, logged to the container's log
#   backup.sh health      healthy once the last backup succeeded
#
# Environment (the container's): CLUSTER, INSTANCES (numbers, space-separated), SCHEDULE.
# Every instance's data volume is mounted read-only at /instances/N. pgBackRest reads the
# primary's files at pg1-path, which must equal the server's data_directory (/data, or
# /data/pgdata under Patroni): pg1-path is a link to /run/backup/primary, re-pointed at the
# current primary before each backup, so that backups follow a switchover or failover without
# a deployment.
set -eu

STATE=/run/backup
STATUS=$STATE/status
export PGPASSFILE=/config/superuser.pgpass

log() { echo "[backup] $(date -u '+%Y-%m-%d %H:%M:%S') $*" >&2; }

as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid=postgres --regid=postgres --init-groups "$@"
  else
    "$@"
  fi
}

pgbackrest_run() {
  as_postgres pgbackrest --config=/config/pgbackrest.conf --stanza="$CLUSTER" "$@"
}

superuser() { sed -n 's/^pg1-user=//p' /config/pgbackrest.conf; }
data_directory() { sed -n 's/^pg1-path=//p' /config/pgbackrest.conf; }

# Number of the instance that answers as primary, empty when none does.
find_primary() {
  user=$(superuser)
  for n in $INSTANCES; do
    answer=$(as_postgres psql -X -A -t -d "host=$CLUSTER-$n port=5432 user=$user dbname=postgres connect_timeout=3" \
      -c 'select pg_is_in_recovery()' 2>/dev/null || true)
    if [ "$answer" = f ]; then
      echo "$n"
      return 0
    fi
  done
}

# backup TYPE: prints the new backup's label on stdout; pgBackRest's log goes to stderr.
backup() {
  # One backup at a time: backup-now during the first or a scheduled backup waits for it
  # instead of failing on pgBackRest's lock.
  exec 9>>"$STATE/lock"
  flock 9
  primary=$(find_primary)
  if [ -z "$primary" ]; then
    log "no instance of $CLUSTER answers as primary (tried: $INSTANCES)"
    echo "failed $(date -u '+%Y-%m-%dT%H:%M:%SZ') no primary" | as_postgres tee "$STATUS.tmp" >/dev/null
    as_postgres mv -f "$STATUS.tmp" "$STATUS"
    return 1
  fi
  # The data directory's place in its volume: the volume is mounted at /data on the instances.
  data_dir=$(data_directory)
  as_postgres ln -sfn "/instances/$primary${data_dir#/data}" "$STATE/primary"
  log "$1 backup of $CLUSTER-$primary"
  out=$(mktemp)
  if PGHOST="$CLUSTER-$primary" pgbackrest_run --type="$1" --log-level-console=info backup >"$out" 2>&1; then
    result=ok
  else
    result=failed
  fi
  cat "$out" >&2
  label=$(sed -n 's/.*new backup label = \([0-9A-Z_-]*\).*/\1/p' "$out" | tail -n 1)
  rm -f "$out"
  echo "$result $(date -u '+%Y-%m-%dT%H:%M:%SZ') ${label:-no label} from $CLUSTER-$primary" |
    as_postgres tee "$STATUS.tmp" >/dev/null
  as_postgres mv -f "$STATUS.tmp" "$STATUS"
  if [ "$result" = ok ]; then
    log "backup $label complete"
    echo "$label"
  else
    log "backup failed"
    return 1
  fi
}

# The first full backup, unless the repository already has one (a re-created container).
first_backup() {
  if pgbackrest_run --output=json info 2>/dev/null | grep -q '"label"'; then
    log "the repository already holds a backup of $CLUSTER"
    echo "ok $(date -u '+%Y-%m-%dT%H:%M:%SZ') existing backups" | as_postgres tee "$STATUS" >/dev/null
    return 0
  fi
  backup full >/dev/null || true
}

start() {
  mkdir -p "$STATE"
  chown postgres:postgres "$STATE"
  chmod 0700 "$STATE"
  data_dir=$(data_directory)
  mkdir -p "$(dirname "$data_dir")"
  ln -sfn "$STATE/primary" "$data_dir"
  printf '#!/bin/sh\nexec /bin/sh /config/backup.sh now\n' >/usr/local/bin/backup-now
  chmod 0755 /usr/local/bin/backup-now
  # Debian's cron reads /etc/cron.d files that root owns and only root may write.
  printf 'CLUSTER=%s\nINSTANCES="%s"\n%s root /bin/sh /config/backup.sh scheduled >/proc/1/fd/1 2>&1\n' \
    "$CLUSTER" "$INSTANCES" "$SCHEDULE" >/etc/cron.d/postgres-replication-backup
  chmod 0644 /etc/cron.d/postgres-replication-backup
  log "scheduled full backups of $CLUSTER: $SCHEDULE (UTC)"
  first_backup &
  cron -f &
  cron_pid=$!
  # As PID 1 this shell ignores a signal it has no handler for: without one, docker stop (a
  # replacement, scale change or destroy) would wait out its whole timeout before killing.
  trap 'kill "$cron_pid" 2>/dev/null; exit 0' TERM INT
  wait "$cron_pid"
}

case "${1:-}" in
  start) start ;;
  now) backup full ;;
  scheduled) backup full >/dev/null ;;
  health) grep -q '^ok ' "$STATUS" ;;
  *)
    echo "usage: backup.sh start|now|scheduled|health" >&2
    exit 2
    ;;
esac
