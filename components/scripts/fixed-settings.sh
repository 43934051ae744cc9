# The settings an existing cluster cannot change in place: the failover mode (the two modes keep
# PostgreSQL's data in different layouts) and the size of the etcd cluster (etcd starts as a
# fixed set of members). Prints them; when the previous run printed others (the provider hands
# its previous output over as PULUMI_COMMAND_STDOUT), fails naming the key. Everything else
# waits for this command, so a refused change leaves every resource as it was.
# Environment: FAILOVER, ETCD_MEMBERS (empty in manual mode).
require_env FAILOVER

current="failover=$FAILOVER etcdMembers=${ETCD_MEMBERS:-}"
previous=${PULUMI_COMMAND_STDOUT:-}
if [ -n "$previous" ] && [ "$previous" != "$current" ]; then
  was_failover=$(sed -n 's/^failover=\([^ ]*\) .*/\1/p' <<<"$previous")
  was_members=$(sed -n 's/.* etcdMembers=\(.*\)$/\1/p' <<<"$previous")
  if [ "$was_failover" != "$FAILOVER" ]; then
    fail "failover: this cluster runs in $was_failover mode and cannot change to $FAILOVER in place. Set failover back to $was_failover, or start a new cluster (pulumi destroy, then pulumi up)"
  fi
  fail "etcdMembers: this cluster's etcd has $was_members members and cannot change to $ETCD_MEMBERS in place. Set etcdMembers back to $was_members, or start a new cluster (pulumi destroy, then pulumi up)"
fi
printf '%s\n' "$current"
