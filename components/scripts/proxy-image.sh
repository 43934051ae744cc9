# Prints the ID of the image the endpoint proxy runs: BASE_IMAGE itself when it has haproxy,
# else an image built from it (DOCKERFILE: the base plus Debian's haproxy), tagged by the base
# image's ID so that only the first `up` on a machine pays for the build.
# Environment: BASE_IMAGE (an image ID), DOCKERFILE.
require_env BASE_IMAGE DOCKERFILE

if docker run --rm --network none --entrypoint /bin/sh "$BASE_IMAGE" -c 'command -v haproxy' >/dev/null 2>&1; then
  log "the endpoint proxy runs the cluster's image, which has haproxy"
  printf '%s\n' "$BASE_IMAGE"
  exit 0
fi
base_id=${BASE_IMAGE#sha256:}
tag="postgres-replication-proxy:${base_id:0:16}"
if ! docker image inspect "$tag" >/dev/null 2>&1; then
  log "building $tag: the cluster's image plus Debian's haproxy (once per machine and image)"
  printf '%s\n' "$DOCKERFILE" | docker build -q -t "$tag" --build-arg "BASE=$BASE_IMAGE" - >/dev/null ||
    fail "could not build the endpoint proxy's image from $BASE_IMAGE (it needs Debian's package archive); see the docker build output above"
fi
docker image inspect -f '{{.Id}}' "$tag"
