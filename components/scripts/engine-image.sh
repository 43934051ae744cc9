# Prints the ID of the image the engines (HAProxy, Patroni, etcd, pgBackRest, cron) run: BASE_IMAGE
# itself when it has them all, else an image built from it (DOCKERFILE: the base plus Debian's
# packages), tagged by the base image's ID so that only the first `up` on a machine pays for
# the build.
# Environment: BASE_IMAGE (an image ID), DOCKERFILE.
require_env BASE_IMAGE DOCKERFILE

has_engines='command -v haproxy && command -v patroni && command -v etcd && command -v etcdctl && command -v pgbackrest && command -v cron && python3 -c "import etcd, psycopg2"'
if docker run --rm --network none --entrypoint /bin/sh "$BASE_IMAGE" -c "$has_engines" >/dev/null 2>&1; then
  log "the engines run the cluster's image, which has haproxy, patroni, etcd, pgbackrest and cron"
  printf '%s\n' "$BASE_IMAGE"
  exit 0
fi
base_id=${BASE_IMAGE#sha256:}
tag="postgres-replication-engines:${base_id:0:16}"
if ! docker image inspect "$tag" >/dev/null 2>&1; then
  log "building $tag: the cluster's image plus Debian's haproxy, patroni, etcd, pgbackrest and cron (once per machine and image)"
  printf '%s\n' "$DOCKERFILE" | docker build -q -t "$tag" --build-arg "BASE=$BASE_IMAGE" - >/dev/null ||
    fail "could not build the engines' image from $BASE_IMAGE (it needs Debian's package archive); see the docker build output above"
fi
docker image inspect -f '{{.Id}}' "$tag"
