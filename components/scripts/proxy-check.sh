#!/bin/sh
# HAProxy external check, run in the proxy container: succeeds when the server holds the role
# its backend routes to ("primary": accepts writes; "standbys": in recovery). HAProxy passes
# <proxy address> <proxy port> <server address> <server port> and HAPROXY_PROXY_NAME.
# POSIX sh: the image may not have bash.
set -eu
# shellcheck source=/dev/null
. /config/proxy.env
case "${HAPROXY_PROXY_NAME:-}" in
  primary) want=f ;;
  standbys) want=t ;;
  *) exit 2 ;;
esac
# The other backend probes the same server too: an answer from this very second is reused,
# which spares a connection, and its authentication, per pair. A failed probe is not: a
# server that does not answer yet (a standby still starting) is asked again at the next one.
cache="/tmp/proxy-check-$3-$4"
now=$(date +%s)
answer="" at=""
if [ -f "$cache" ]; then
  read -r at answer <"$cache" || answer=""
  [ "$at" = "$now" ] && [ "$answer" != down ] || answer=""
fi
if [ -z "$answer" ]; then
  answer=$(PGPASSFILE=/config/probe.pgpass PGCONNECT_TIMEOUT=4 psql -X -A -t -w \
    -h "$3" -p "$4" -U "$PROBE_USER" -d postgres -c 'select pg_is_in_recovery()' 2>/dev/null) ||
    answer=down
  printf '%s %s\n' "$now" "$answer" >"$cache.$$" && mv -f "$cache.$$" "$cache"
fi
[ "$answer" = "$want" ]
