#!/usr/bin/env bash
# An on-demand full backup of a stack's cluster (`npm run backup -- [--stack NAME]`, default
# dev): runs backup-now in the cluster's backup container and prints the backup's label.
# The cluster name comes from the stack's configuration, through the Pulumi CLI when it is
# installed, else through the live harness (tools/live), as in deploy.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
stack=${STACK:-dev}
while [ $# -gt 0 ]; do
  case $1 in
    --stack | -s)
      [ $# -ge 2 ] || { echo "[backup] error: $1 needs a stack name" >&2; exit 2; }
      stack=$2
      shift 2
      ;;
    --stack=*)
      stack=${1#--stack=}
      shift
      ;;
    *)
      echo "[backup] error: unknown argument $1; usage: npm run backup -- [--stack NAME]" >&2
      exit 2
      ;;
  esac
done

if command -v pulumi >/dev/null; then
  export PULUMI_BACKEND_URL=${PULUMI_BACKEND_URL:-file://$PWD/.pulumi-state}
  engine=(pulumi)
else
  engine=(npm run --silent live --)
fi
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ] &&
  [ -s .pulumi-state/passphrase ]; then
  export PULUMI_CONFIG_PASSPHRASE_FILE=$PWD/.pulumi-state/passphrase
fi
cluster=$("${engine[@]}" config get clusterName --stack "$stack" 2>/dev/null || true)
cluster=${cluster:-postgres}
container="$cluster-backup"
if [ "$(docker container inspect -f '{{.State.Status}}' "$container" 2>/dev/null)" != running ]; then
  echo "[backup] error: the backup container $container of stack $stack is not running (backups off, or the stack is not up)" >&2
  exit 1
fi
echo "[backup] full backup of $cluster in $container" >&2
exec docker exec "$container" backup-now
