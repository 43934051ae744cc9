# Writes the endpoint proxy's configuration and probe password into its /config volume; when
# the proxy runs, checks the new configuration and reloads it in place (HAProxy's master
# hands the listeners to a new worker; open connections stay on the old one until they end).
# Environment: CLUSTER, CONTAINER, IMAGE (the proxy's), CONFIG_VOLUME, HAPROXY_CFG, PROXY_ENV,
#   PROXY_CHECK, PROBE_USER, and the secret PROBE_PASSWORD.
require_env CLUSTER CONTAINER IMAGE CONFIG_VOLUME HAPROXY_CFG PROXY_ENV PROXY_CHECK PROBE_USER \
  PROBE_PASSWORD

docker run --rm -i --network none --user root --entrypoint /bin/sh \
  --label "postgres-replication.cluster=$CLUSTER" -v "$CONFIG_VOLUME:/config" \
  -e HAPROXY_CFG -e PROXY_ENV -e PROXY_CHECK -e PROBE_USER -e PROBE_PASSWORD \
  "$IMAGE" -s <<'IN_CONTAINER'
set -eu
umask 077
pgpass_escape() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/:/\\:/g'; }
put() {
  cat > "/config/.$1.tmp"
  chown haproxy:haproxy "/config/.$1.tmp"
  chmod "$2" "/config/.$1.tmp"
  mv -f "/config/.$1.tmp" "/config/$1"
}
printf '%s\n' "$HAPROXY_CFG" | put haproxy.cfg 0640
printf '%s\n' "$PROXY_ENV" | put proxy.env 0640
printf '%s\n' "$PROXY_CHECK" | put proxy-check.sh 0750
printf '*:*:postgres:%s:%s\n' "$(pgpass_escape "$PROBE_USER")" "$(pgpass_escape "$PROBE_PASSWORD")" |
  put probe.pgpass 0600
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
