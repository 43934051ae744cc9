# Prints the image the primary's container runs. The primary gets a new image only after every
# standby runs it and accepts connections again (they were replaced first: this Command waits
# for their containers), so an image that cannot run this cluster stops the rollout while the
# primary still serves on the old one.
# Create: prints IMAGE at once (the standbys of a new cluster clone from this primary).
# Update: waits as above when IMAGE differs from what it printed before (PULUMI_COMMAND_STDOUT).
# The standbys are found by their labels, not listed in the environment: an input that changed
# with scaling or roles would make every preview show the primary's container as replaced.
# Environment: IMAGE, CLUSTER, SUPERUSER, TIMEOUT_SECONDS.
require_env IMAGE CLUSTER SUPERUSER
action=${1:-create}

if [ "$action" = update ] && [ "${PULUMI_COMMAND_STDOUT:-}" != "$IMAGE" ]; then
  # The instances already on the new image: every standby (each one is replaced before this
  # runs); the primary, and a standby this run removes, still run the old one.
  for instance in $(docker ps -a --filter "label=postgres-replication.cluster=$CLUSTER" \
    --filter label=postgres-replication.instance --format '{{.Names}}' | sort); do
    [ "$(docker container inspect -f '{{.Image}}' "$instance")" = "$IMAGE" ] || continue
    (wait_ready "$instance" "${TIMEOUT_SECONDS:-600}") ||
      fail "$instance cannot run the new image $IMAGE, so the primary keeps the old one; fix \`image\` (or set it back) and run pulumi up again"
  done
  log "every standby runs the new image; the primary follows"
fi
printf '%s\n' "$IMAGE"
