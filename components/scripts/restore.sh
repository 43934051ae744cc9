# Gives a restored cluster (restore.fromCluster) its first primary before that instance's
# container exists: a throwaway container of the instance's image mounts the instance's
# volumes and, read-only, the source's repository, and runs instance.sh restore. Does nothing
# once the data volume holds a database cluster (later runs, a change of primary), so the
# source's repository may be gone by then.
# Environment: CLUSTER, IMAGE, DATA_VOLUME, CONFIG_VOLUME, ARCHIVE_VOLUME, SOURCE_VOLUME,
#   RESTORE_FROM, RESTORE_TARGET ("latest" or a UTC timestamp).
require_env CLUSTER IMAGE DATA_VOLUME CONFIG_VOLUME ARCHIVE_VOLUME SOURCE_VOLUME RESTORE_FROM \
  RESTORE_TARGET

if docker run --rm --network none --entrypoint /bin/sh -v "$DATA_VOLUME:/data:ro" "$IMAGE" \
  -c 'test -s /data/PG_VERSION'; then
  log "$DATA_VOLUME already holds a database cluster; nothing to restore"
  exit 0
fi
# Mounting a volume that does not exist would create an empty one. Only Docker's own "no such
# volume" means it is missing: once, on a loaded machine, the check failed for a volume that was
# there, so any other failure is retried, then reported as Docker gave it.
for try in 1 2 3; do
  if inspect_error=$(docker volume inspect "$SOURCE_VOLUME" 2>&1 >/dev/null); then break; fi
  case "$inspect_error" in
    *"o such volume"*)
      fail "restore.fromCluster: the repository volume $SOURCE_VOLUME of cluster $RESTORE_FROM does not exist"
      ;;
  esac
  ((try < 3)) || fail "restore.fromCluster: Docker could not inspect the repository volume $SOURCE_VOLUME: $inspect_error"
  sleep 1
done

# A run interrupted earlier may have left its restore container behind.
runner="$CLUSTER-restore"
docker rm -f "$runner" >/dev/null 2>&1 || true
started=$SECONDS
if ! out=$(docker run --rm --name "$runner" --network none --user root --entrypoint /bin/sh \
  --label "postgres-replication.cluster=$CLUSTER" \
  -v "$DATA_VOLUME:/data" -v "$CONFIG_VOLUME:/config" -v "$ARCHIVE_VOLUME:/mnt/server/archive" \
  -v "$SOURCE_VOLUME:/mnt/restore-source:ro" -e RESTORE_FROM -e RESTORE_TARGET \
  "$IMAGE" /config/instance.sh restore 2>&1); then
  log "$out"
  # instance.sh says why last.
  reason=$(tail -n 1 <<<"$out" | sed 's/^\[[^]]*\] //')
  fail "restore: $reason. The data volume $DATA_VOLUME was left empty; fix restore (restore.target, restore.fromCluster) and run up again"
fi
log "$out"
log "restored $RESTORE_FROM ($RESTORE_TARGET) into $DATA_VOLUME in $((SECONDS - started))s"
