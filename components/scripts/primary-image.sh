# Prints the image the primary's container runs. The primary gets a new image only after every
# standby runs it and accepts connections again (they were replaced first: this Command waits
# for their containers), so an image that cannot run this cluster stops the rollout while the
# primary still serves on the old one.
# Create: prints IMAGE at once (the standbys of a new cluster clone from this primary).
# Update: waits as above when IMAGE differs from what it printed before (PULUMI_COMMAND_STDOUT).
# Environment: IMAGE, STANDBYS (container names, space-separated), SUPERUSER, TIMEOUT_SECONDS.
require_env IMAGE SUPERUSER
action=${1:-create}

if [ "$action" = update ] && [ "${PULUMI_COMMAND_STDOUT:-}" != "$IMAGE" ]; then
  for standby in ${STANDBYS:-}; do
    running=$(docker container inspect -f '{{.Image}}' "$standby" 2>/dev/null) ||
      fail "container $standby does not exist (removed outside Pulumi?); run \`pulumi up --refresh\` to re-create it, then pulumi up"
    [ "$running" = "$IMAGE" ] ||
      fail "$standby runs $running, not the new image $IMAGE; the primary keeps its image. Run pulumi up again"
    (wait_ready "$standby" "${TIMEOUT_SECONDS:-600}") ||
      fail "$standby cannot run the new image $IMAGE, so the primary keeps the old one; fix \`image\` (or set it back) and run pulumi up again"
  done
  log "every standby runs the new image; the primary follows"
fi
printf '%s\n' "$IMAGE"
