# Says, when the stack is destroyed, that the backup repository volume was kept and how to
# delete it (backup.keepOnDestroy). Creating or updating it does nothing.
# Environment: REPOSITORY_VOLUME, KEEP (true or false: the volume is kept or deleted).
require_env REPOSITORY_VOLUME

if [ "${1:-}" = delete ] && [ "${KEEP:-}" = true ]; then
  log "kept the backup repository volume $REPOSITORY_VOLUME (backup.keepOnDestroy); restore from it with restore.fromCluster, or delete it: docker volume rm $REPOSITORY_VOLUME"
fi
