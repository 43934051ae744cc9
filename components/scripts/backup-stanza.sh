# Makes sure the cluster's pgBackRest stanza is in the repository (creates it when missing) and
# that the primary archives into it. Runs once the primary is up, and again when the primary
# changes.
# Environment: CLUSTER, PRIMARY_CONTAINER, REPOSITORY_VOLUME, SUPERUSER.
require_env CLUSTER PRIMARY_CONTAINER REPOSITORY_VOLUME SUPERUSER

wait_accepting 120 "$PRIMARY_CONTAINER"
pgbackrest_in() {
  docker exec -u postgres "$PRIMARY_CONTAINER" pgbackrest --config=/config/pgbackrest.conf \
    --stanza="$CLUSTER" --log-level-console=warn "$@" 2>&1
}
# Switches WAL and waits until the segment is in the repository: archive_command works. It also
# fails, before switching, when the stanza is missing or belongs to another database.
check_archiving() { out=$(pgbackrest_in check); }
archiving_failed() {
  log "$out"
  fail "$PRIMARY_CONTAINER does not archive WAL into $REPOSITORY_VOLUME; see: docker logs $PRIMARY_CONTAINER"
}
# A new primary's first initialisation created the stanza (instance.sh initialise), so one check
# usually does: each of pgBackRest's queries takes about 0.1 s, and stanza-create makes several.
if ! check_archiving; then
  # pgBackRest's archive timeout (error 082): the stanza is there, archive_command fails.
  case "$out" in *"[082]"*) archiving_failed ;; esac
  if ! out=$(pgbackrest_in stanza-create); then
    log "$out"
    case "$out" in
      *"do not match the database"*)
        fail "the repository volume $REPOSITORY_VOLUME holds the backups of another database cluster (an earlier cluster named $CLUSTER, kept by backup.keepOnDestroy). Keep them by restoring them into a new cluster (restore.fromCluster: $CLUSTER), or delete them: docker volume rm $REPOSITORY_VOLUME"
        ;;
    esac
    fail "could not create the pgBackRest stanza $CLUSTER in $REPOSITORY_VOLUME"
  fi
  check_archiving || archiving_failed
fi
log "stanza $CLUSTER: $PRIMARY_CONTAINER archives WAL into $REPOSITORY_VOLUME"
