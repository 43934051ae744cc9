# Writes the automatic mode's endpoint proxy configuration (haproxy.cfg; no secrets: the checks
# ask Patroni's REST API, whose role endpoints need no credentials) into its /config volume;
# a running proxy checks it and reloads in place.
# Environment: CLUSTER, CONTAINER, IMAGE, CONFIG_VOLUME, HAPROXY_CFG.
require_env CLUSTER CONTAINER IMAGE CONFIG_VOLUME HAPROXY_CFG

docker run --rm -i --network none --user root --entrypoint /bin/sh \
  --label "postgres-replication.cluster=$CLUSTER" -v "$CONFIG_VOLUME:/config" -e HAPROXY_CFG \
  "$IMAGE" -s <<'IN_CONTAINER'
set -eu
printf '%s\n' "$HAPROXY_CFG" > /config/.haproxy.cfg.tmp
chown haproxy:haproxy /config/.haproxy.cfg.tmp
chmod 0640 /config/.haproxy.cfg.tmp
mv -f /config/.haproxy.cfg.tmp /config/haproxy.cfg
chown root:haproxy /config
chmod 0750 /config
IN_CONTAINER
log "endpoint configuration written to volume $CONFIG_VOLUME"

if container_running "$CONTAINER"; then
  docker exec "$CONTAINER" haproxy -c -q -f /config/haproxy.cfg ||
    fail "$CONTAINER rejects the new configuration; it keeps running the previous one"
  docker kill -s USR2 "$CONTAINER" >/dev/null
  log "$CONTAINER reloaded its configuration"
fi
