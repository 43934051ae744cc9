# Waits until a just-created container accepts connections; fails at once, with its reason,
# when its entrypoint guard refused to start it (/config/instance.sh) or PostgreSQL exited.
# Runs after each creation of the container (CONTAINER_ID changes), not on every `up`.
# Environment: CONTAINER, CONTAINER_ID, SUPERUSER, TIMEOUT_SECONDS.
require_env CONTAINER CONTAINER_ID SUPERUSER

wait_ready "$CONTAINER" "${TIMEOUT_SECONDS:-600}"
