# Asks Patroni, through each member's REST API, what the cluster is and changes it the way
# Patroni does it. Runs python3 inside a member container (Patroni's own runtime; the API is
# not published on the host). Subcommands:
#   ready       CONTAINER's Patroni runs PostgreSQL (a replica: cloned and streaming)
#   check       etcd is healthy; a leader and every member of MEMBERS run; in synchronous
#               mode the leader has named its synchronous standbys; DATABASE exists
#   config      PATCH /config to DYNAMIC_CONFIG (settings no longer wanted are removed), then
#               restart the members that need it (replicas first)
#   switchover  make PREFERRED the leader unless it already is
#   endpoints   the proxy (PROXY) sends writes to the leader and reads to a replica
#   image       print IMAGE, the image of the next container (KIND: member or etcd) in the
#               rollout order; as an update to a new IMAGE, only once those before it (every
#               one of CLUSTER's containers of that kind already on IMAGE) run on it
# Environment: CLUSTER, MEMBERS (container names), ETCD_CONTAINER, API_USER, the secret
#   API_PASSWORD, SUPERUSER, DATABASE, CONTAINER, DYNAMIC_CONFIG, PREFERRED, TIMEOUT_SECONDS,
#   IMAGE, KIND.

# The REST client: prints the response body; exits 1 on a status other than 2xx, 2 when the
# API does not answer. Credentials come from the environment (docker exec -e NAME copies them).
read -r -d '' REST_CLIENT <<'PY' || true
import base64, json, os, sys, urllib.error, urllib.request
method, path = sys.argv[1], sys.argv[2]
body = os.environ.get("BODY") or None
request = urllib.request.Request(
    "http://127.0.0.1:8008" + path, data=body.encode() if body else None, method=method
)
if os.environ.get("API_PASSWORD"):
    token = base64.b64encode((os.environ["API_USER"] + ":" + os.environ["API_PASSWORD"]).encode())
    request.add_header("Authorization", "Basic " + token.decode())
if body:
    request.add_header("Content-Type", "application/json")
try:
    with urllib.request.urlopen(request, timeout=10) as response:
        sys.stdout.write(response.read().decode())
except urllib.error.HTTPError as error:
    sys.stdout.write(error.read().decode())
    sys.exit(1)
except OSError as error:
    sys.stderr.write(str(error) + "\n")
    sys.exit(2)
PY

# rest MEMBER METHOD PATH [BODY]
rest() {
  local member=$1 method=$2 path=$3
  BODY=${4:-} docker exec -i -e API_USER -e API_PASSWORD -e BODY "$member" \
    python3 -c "$REST_CLIENT" "$method" "$path"
}

# json_get FIELD-EXPRESSION: evaluates a Python expression over `d` (stdin's JSON); runs in
# the first member that answers, since the host need not have python3.
json_eval() {
  local expression=$1 member
  for member in $MEMBERS; do
    if container_running "$member"; then
      docker exec -i "$member" python3 -c "import json,sys; d=json.load(sys.stdin); print($expression)"
      return
    fi
  done
  return 1
}

# The cluster as any running member sees it (GET /cluster needs no credentials).
cluster_json() {
  local member
  for member in $MEMBERS; do
    if container_running "$member" && API_PASSWORD='' rest "$member" GET /cluster 2>/dev/null; then
      return 0
    fi
  done
  return 1
}

leader() {
  cluster_json | json_eval "next((m['name'] for m in d['members'] if m['role'] == 'leader' and m['state'] == 'running'), '')"
}

# Every one of MEMBERS runs and exactly one member leads. Members being removed by the same
# `up` still run here: Pulumi deletes them after every other step.
members_running() {
  local json
  json=$(cluster_json) || return 1
  printf '%s' "$json" | json_eval "'ok' if set('$MEMBERS'.split()) <= set(m['name'] for m in d['members'] if m['state'] in ('running', 'streaming')) and sum(m['role'] == 'leader' for m in d['members']) == 1 else ''" |
    grep -qx ok
}

# In synchronous mode Patroni lets only the standbys its leader named in the /sync key take over
# a lost leader's key, and it names one only once that standby streams synchronously and has
# caught up; until then a failed leader is replaced by nobody. GET /cluster shows those
# standbys as sync_standby; GET /config says how many the mode wants.
sync_standbys_named() {
  local member=$1 config json
  config=$(API_PASSWORD='' rest "$member" GET /config 2>/dev/null) || return 1
  json=$(cluster_json) || return 1
  printf '{"config": %s, "cluster": %s}' "$config" "$json" |
    json_eval "'ok' if sum(m['role'] == 'sync_standby' for m in d['cluster']['members']) >= (min(d['config'].get('synchronous_node_count', 1), len(d['cluster']['members']) - 1) if d['config'].get('synchronous_mode') else 0) else ''" |
    grep -qx ok
}

member_ready() {
  local body
  body=$(API_PASSWORD='' rest "$CONTAINER" GET /patroni 2>/dev/null) || return 1
  [ "$(printf '%s' "$body" | json_eval "d.get('state', '')")" = running ]
}

# Like member_ready, but gives up at once (exit) when the member cannot start: its container
# stopped or restarts, or Patroni could not start PostgreSQL (an image that cannot run it).
member_ready_or_failing() {
  local status state
  member_ready && return 0
  status=$(docker container inspect -f '{{.State.Status}}' "$CONTAINER" 2>/dev/null) ||
    fail "container $CONTAINER vanished while starting"
  state=$(API_PASSWORD='' rest "$CONTAINER" GET /patroni 2>/dev/null | json_eval "d.get('state', '')" 2>/dev/null) || state=""
  case "$status/$state" in
    exited/* | dead/* | restarting/* | */"start failed" | */crashed)
      log "$CONTAINER cannot run (container: $status${state:+, Patroni: $state}); its last log lines:"
      docker logs --tail 15 "$CONTAINER" 2>&1 | sed 's/^/  | /' >&2
      fail "$CONTAINER did not start; fix the cause above, then run pulumi up again"
      ;;
  esac
  return 1
}

# An etcd member answers as healthy (it is part of a quorum again); gives up at once when its
# container stopped or restarts.
etcd_member_ready_or_failing() {
  local status
  docker exec "$CONTAINER" etcdctl --command-timeout=3s endpoint health >/dev/null 2>&1 && return 0
  status=$(docker container inspect -f '{{.State.Status}}' "$CONTAINER" 2>/dev/null) ||
    fail "container $CONTAINER vanished while starting"
  case "$status" in
    exited | dead | restarting)
      docker logs --tail 15 "$CONTAINER" 2>&1 | sed 's/^/  | /' >&2
      fail "$CONTAINER did not start (container: $status); fix the cause above, then run pulumi up again"
      ;;
  esac
  return 1
}

case "${1:-}" in
ready)
  require_env CONTAINER MEMBERS TIMEOUT_SECONDS
  require_container "$CONTAINER"
  wait_for "$TIMEOUT_SECONDS" "Patroni on $CONTAINER to run PostgreSQL (docker logs $CONTAINER)" member_ready_or_failing
  log "$CONTAINER: Patroni runs PostgreSQL"
  ;;
image)
  require_env IMAGE CLUSTER TIMEOUT_SECONDS
  # The rollout waits only when the image changes (the previous run printed the old one). The
  # containers are found by label, not listed in the environment: an input that changed with
  # scaling or roles would make every preview show a member as replaced.
  if [ "${2:-}" = update ] && [ "${PULUMI_COMMAND_STDOUT:-}" != "$IMAGE" ]; then
    MEMBERS=$(docker ps -a --filter "label=postgres-replication.cluster=$CLUSTER" \
      --filter label=postgres-replication.instance --format '{{.Names}}' | sort)
    case "${KIND:-member}" in
      etcd)
        runs=etcd_member_ready_or_failing
        containers=$(docker ps -a --filter "label=postgres-replication.cluster=$CLUSTER" \
          --format '{{.Names}}' | grep -E "^$CLUSTER-etcd-[0-9]+\$" | sort || true)
        ;;
      *)
        runs=member_ready_or_failing
        containers=$MEMBERS
        ;;
    esac
    # Those already on the new image: the ones before this one in the rollout order.
    for CONTAINER in $containers; do
      [ "$(docker container inspect -f '{{.Image}}' "$CONTAINER")" = "$IMAGE" ] || continue
      (wait_for "$TIMEOUT_SECONDS" "$CONTAINER to run on the new image" "$runs") ||
        fail "$CONTAINER cannot run the new image $IMAGE, so the ones after it keep the old one; fix \`image\` (or set it back) and run pulumi up again"
      log "$CONTAINER runs the new image"
    done
  fi
  printf '%s\n' "$IMAGE"
  ;;
check)
  require_env MEMBERS ETCD_CONTAINER SUPERUSER DATABASE TIMEOUT_SECONDS
  docker exec "$ETCD_CONTAINER" etcdctl --command-timeout=5s endpoint health --cluster >&2 ||
    fail "the etcd cluster is not healthy (docker logs $ETCD_CONTAINER)"
  wait_for "$TIMEOUT_SECONDS" "one leader and every member ($MEMBERS) running" members_running ||
    fail "Patroni's cluster is not complete: $(cluster_json || echo 'no member answers')"
  current=$(leader)
  [ -n "$current" ] || fail "no leader"
  wait_for "$TIMEOUT_SECONDS" "the leader $current to name its synchronous standbys" \
    sync_standbys_named "$current" ||
    fail "no synchronous standby named, so no failover is possible: $(cluster_json || echo 'no member answers')"
  printf '%s\n' "select format('create database %I', :'db') where not exists (select from pg_database where datname = :'db') \\gexec" |
    psql_in "$current" -v db="$DATABASE" >/dev/null
  log "leader $current; every member runs; database $DATABASE exists"
  ;;
config)
  require_env MEMBERS API_USER API_PASSWORD DYNAMIC_CONFIG
  current=$(leader)
  [ -n "$current" ] || fail "no leader to take the configuration"
  # Settings the stack no longer sets are removed by patching them to null.
  body=$(rest "$current" GET /config | DESIRED="$DYNAMIC_CONFIG" docker exec -i -e DESIRED "$current" python3 -c '
import json, os, sys
current = json.load(sys.stdin)
desired = json.loads(os.environ["DESIRED"])
old = current.get("postgresql", {}).get("parameters", {}) or {}
new = desired["postgresql"]["parameters"]
for name in old:
    if name not in new:
        new[name] = None
print(json.dumps(desired))')
  rest "$current" PATCH /config "$body" >/dev/null || fail "Patroni refused the configuration"
  log "dynamic configuration applied"
  # Patroni marks members whose running server differs from a setting that needs a restart.
  sleep 3
  pending=$(cluster_json | json_eval "' '.join(m['name'] for m in sorted(d['members'], key=lambda m: m['role'] == 'leader') if m.get('pending_restart'))") ||
    fail "no member answers GET /cluster, so which members need a restart is unknown ($MEMBERS)"
  for member in $pending; do
    log "restarting $member: a changed setting needs it"
    rest "$member" POST /restart '{}' >/dev/null || fail "Patroni could not restart $member"
    CONTAINER=$member wait_for 120 "$member to run again" member_ready
  done
  ;;
switchover)
  require_env MEMBERS API_USER API_PASSWORD PREFERRED TIMEOUT_SECONDS
  current=$(leader)
  [ -n "$current" ] || fail "no leader: Patroni elects one by itself; run pulumi up again when it has"
  if [ "$current" = "$PREFERRED" ]; then
    log "$PREFERRED already leads"
    exit 0
  fi
  # In synchronous mode Patroni hands the lead only to a synchronous standby. When PREFERRED
  # is not one, every replica is made synchronous for the switchover (stricter, never looser),
  # and the configured count is restored afterwards.
  is_sync() {
    [ "$(cluster_json | json_eval "'yes' if any(m['name'] == '$1' and m['role'] == 'sync_standby' for m in d['members']) else ''")" = yes ]
  }
  sync_count=$(rest "$current" GET /config | json_eval "d.get('synchronous_node_count', 1) if d.get('synchronous_mode') else 0")
  if [ "$sync_count" -gt 0 ] && ! is_sync "$PREFERRED"; then
    replicas=$(($(printf '%s\n' $MEMBERS | wc -l) - 1))
    restore_sync_count() {
      local now
      now=$(leader) && [ -n "$now" ] &&
        rest "$now" PATCH /config "{\"synchronous_node_count\":$sync_count}" >/dev/null
    }
    trap restore_sync_count EXIT
    rest "$current" PATCH /config "{\"synchronous_node_count\":$replicas}" >/dev/null ||
      fail "Patroni refused to make every replica synchronous for the switchover"
    if ! wait_for 120 "$PREFERRED to become a synchronous standby" is_sync "$PREFERRED"; then
      log "members: $(cluster_json | json_eval "'; '.join('%s %s %s lag %s' % (m['name'], m['role'], m['state'], m.get('lag', '-')) for m in d['members'])")"
      log "the last lines of $PREFERRED's log:"
      docker logs --tail 20 "$PREFERRED" 2>&1 | sed 's/^/  /' >&2
      fail "$PREFERRED did not become a synchronous standby; is it streaming?"
    fi
  fi
  log "switchover from $current to $PREFERRED"
  rest "$current" POST /switchover "{\"leader\":\"$current\",\"candidate\":\"$PREFERRED\"}" >&2 ||
    fail "Patroni refused the switchover to $PREFERRED (is it a healthy replica, not too far behind?)"
  preferred_leads() { [ "$(leader)" = "$PREFERRED" ] && members_running; }
  wait_for "$TIMEOUT_SECONDS" "$PREFERRED to lead and $current to follow it" preferred_leads
  log "$PREFERRED leads"
  ;;
endpoints)
  require_env MEMBERS PROXY SUPERUSER
  # Asked from the leader's container, through the proxy's listeners on the cluster network,
  # with the superuser password that never leaves that container's 0600 file.
  through() {
    docker exec -i -u postgres "$1" python3 -c '
import sys, psycopg2, yaml
auth = yaml.safe_load(open("/config/patroni/20-secrets.yml"))["postgresql"]["authentication"]
c = psycopg2.connect(host=sys.argv[1], port=int(sys.argv[2]), user=sys.argv[3],
                     password=auth["superuser"]["password"], dbname="postgres", connect_timeout=2)
cur = c.cursor()
cur.execute("select pg_is_in_recovery()")
print("t" if cur.fetchone()[0] else "f")' "$PROXY" "$2" "$SUPERUSER" 2>/dev/null
  }
  routed() {
    local current
    current=$(leader) && [ -n "$current" ] || return 1
    [ "$(through "$current" 5432)" = f ] || return 1
    [ "$(printf '%s\n' $MEMBERS | wc -l)" -eq 1 ] || [ "$(through "$current" 5433)" = t ]
  }
  wait_for 60 "the proxy to send writes to the leader and reads to a replica" routed ||
    fail "the endpoints do not route by role; see: docker logs $PROXY"
  log "endpoints: read-write reaches the leader, read-only a replica"
  ;;
*)
  fail "usage: patroni.sh ready|check|config|switchover|endpoints|image"
  ;;
esac
