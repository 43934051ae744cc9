# Prints the ID of the image the containers run: the local image IMAGE names now (the
# RemoteImage resource has pulled it when it was missing). Runs when `image` is set or changed.
# Environment: IMAGE.
require_env IMAGE

id=$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null) ||
  fail "image $IMAGE is not present on the Docker engine; pull or build it, then run pulumi up again"
log "containers run $IMAGE as $id"
printf '%s\n' "$id"
