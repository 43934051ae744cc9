# Checks a restore (restore.fromCluster, restore.target) before anything of the cluster is
# created: everything else waits for this command. Refuses a cluster that already has data,
# a source repository volume that is missing or holds no backup, and a target before the end
# of the source's first backup or after its last archived WAL. Prints what it found.
# Environment: CLUSTER, IMAGE (with pgBackRest), SOURCE_VOLUME, RESTORE_FROM, RESTORE_TARGET
#   ("latest" or a UTC timestamp), TARGET_EPOCH_MS (empty for latest), PULUMI_COMMAND_STDOUT.
require_env CLUSTER IMAGE SOURCE_VOLUME RESTORE_FROM RESTORE_TARGET

utc() { date -u -d "@$1" '+%Y-%m-%d %H:%M:%S+00'; }

# This very restore passed before (the provider hands the previous output over as
# PULUMI_COMMAND_STDOUT): a new image reruns this command, and the cluster now has its data.
found_before="restore $RESTORE_FROM from $SOURCE_VOLUME to $RESTORE_TARGET:"
if [[ ${PULUMI_COMMAND_STDOUT:-} == "$found_before"* ]]; then
  printf '%s\n' "$PULUMI_COMMAND_STDOUT"
  exit 0
fi

# This cluster's volumes from an earlier deployment: a restore only creates a new cluster.
mounts=()
while read -r volume; do
  [ -n "$volume" ] && mounts+=(-v "$volume:/volumes/$volume:ro")
done < <(docker volume ls -q | grep -E "^$CLUSTER-([0-9]+-data|backup)\$" || true)
if ((${#mounts[@]} > 0)); then
  holding=$(docker run --rm --network none --user root --entrypoint /bin/sh "${mounts[@]}" \
    "$IMAGE" -c 'for v in /volumes/*; do
      if [ -s "$v/PG_VERSION" ] || [ -n "$(find "$v" -type f -print 2>/dev/null | head -n 1)" ]; then
        echo "${v#/volumes/}"
      fi
    done')
  if [ -n "$holding" ]; then
    fail "restore: cluster $CLUSTER already has data (volumes: $(echo $holding)); a restore only creates a new cluster. Choose another clusterName, or set restore back (or remove it); to start over under this name: pulumi destroy, then docker volume rm $CLUSTER-backup if it was kept"
  fi
fi

docker volume inspect "$SOURCE_VOLUME" >/dev/null 2>&1 ||
  fail "restore.fromCluster: there is no repository volume $SOURCE_VOLUME (cluster $RESTORE_FROM's backups); see docker volume ls"

# pgBackRest's view of the source (read-only), then the time of the newest archived WAL file.
found=$(docker run --rm --network none --user postgres --entrypoint /bin/sh \
  -v "$SOURCE_VOLUME:/mnt/restore-source:ro" -e RESTORE_FROM "$IMAGE" -c '
  pgbackrest --config=/dev/null --stanza="$RESTORE_FROM" --repo1-path=/mnt/restore-source \
    --lock-path=/tmp/pgbackrest --log-level-console=error --log-level-stderr=off --output=json info
  echo
  find "/mnt/restore-source/archive/$RESTORE_FROM" -type f -name "[0-9A-F]*-*" -printf "%T@\n" 2>/dev/null |
    sort -n | tail -n 1' 2>&1) ||
  fail "restore.fromCluster: cannot read the repository volume $SOURCE_VOLUME: $(head -c 300 <<<"$found")"
info=$(head -n 1 <<<"$found")
last_wal=$(sed -n '2p' <<<"$found" | cut -d. -f1)
code=$(grep -o '"status":{"code":[0-9]*' <<<"$info" | tail -n 1 | grep -o '[0-9]*$' || true)
message=$(grep -o '"message":"[^"]*"' <<<"$info" | tail -n 1 | cut -d'"' -f4 || true)
if [ "${code:-}" != 0 ]; then
  fail "restore.fromCluster: the repository volume $SOURCE_VOLUME holds no usable backup of $RESTORE_FROM (pgBackRest: ${message:-no stanza $RESTORE_FROM}); take one with: docker exec $RESTORE_FROM-backup backup-now"
fi
first_stop=$(grep -o '"timestamp":{"start":[0-9]*,"stop":[0-9]*}' <<<"$info" |
  sed 's/.*"stop":\([0-9]*\)}/\1/' | sort -n | head -n 1 || true)
backups=$({ grep -o '"label":"' <<<"$info" || true; } | wc -l)
[ -n "$first_stop" ] ||
  fail "restore.fromCluster: the repository volume $SOURCE_VOLUME holds no backup of $RESTORE_FROM; take one with: docker exec $RESTORE_FROM-backup backup-now"

if [ -n "${TARGET_EPOCH_MS:-}" ]; then
  if ((TARGET_EPOCH_MS < first_stop * 1000)); then
    fail "restore.target: $RESTORE_TARGET is before the end of $RESTORE_FROM's first backup ($(utc "$first_stop")); choose a target from then on, or latest"
  fi
  if [ -z "$last_wal" ] || ((TARGET_EPOCH_MS > last_wal * 1000)); then
    fail "restore.target: $RESTORE_TARGET is after the last WAL $RESTORE_FROM archived (${last_wal:+at $(utc "$last_wal")}); choose an earlier target, or latest"
  fi
fi
printf 'restore %s from %s to %s: %s backups, the first ended at %s, WAL archived until %s\n' \
  "$RESTORE_FROM" "$SOURCE_VOLUME" "$RESTORE_TARGET" "$backups" "$(utc "$first_stop")" \
  "${last_wal:+$(utc "$last_wal")}"
