# Prints the ID of the image the backup container runs: BASE_IMAGE itself when it has cron,
# else an image built from it (DOCKERFILE: the base plus Debian's cron), tagged by the base
# image's ID so that only the first `up` on a machine pays for the build. The instances run
# BASE_IMAGE and archive WAL with its pgbackrest, so BASE_IMAGE must have one.
# Environment: BASE_IMAGE (an image ID), DOCKERFILE.
require_env BASE_IMAGE DOCKERFILE

has() { docker run --rm --network none --entrypoint /bin/sh "$BASE_IMAGE" -c "command -v $1" >/dev/null 2>&1; }

has pgbackrest ||
  fail "the image has no pgbackrest, which backups need in every instance (archive-push); use an image with Debian's pgbackrest package, or set backup.enabled to false"
if has cron; then
  log "the backup container runs the cluster's image, which has cron"
  printf '%s\n' "$BASE_IMAGE"
  exit 0
fi
base_id=${BASE_IMAGE#sha256:}
tag="postgres-replication-backup:${base_id:0:16}"
if ! docker image inspect "$tag" >/dev/null 2>&1; then
  log "building $tag: the cluster's image plus Debian's cron (once per machine and image)"
  printf '%s\n' "$DOCKERFILE" | docker build -q -t "$tag" --build-arg "BASE=$BASE_IMAGE" - >/dev/null ||
    fail "could not build the backup container's image from $BASE_IMAGE (it needs Debian's package archive); see the docker build output above"
fi
docker image inspect -f '{{.Id}}' "$tag"
