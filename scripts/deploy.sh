#!/usr/bin/env bash
# One command from a fresh clone to a running replica set with the Pulumi CLI: installs the
# npm packages, uses a local file backend in .pulumi-state/ (no Pulumi account), selects or
# creates the stack (default dev) and runs `pulumi up`. Extra arguments go to `pulumi up`.
set -euo pipefail
cd "$(dirname "$0")/.."
stack=${STACK:-dev}

for tool in node npm pulumi docker; do
  command -v "$tool" >/dev/null || {
    echo "error: $tool is not installed (needed: Node.js 20, npm, the Pulumi CLI, Docker)" >&2
    exit 1
  }
done
# The docker provider talks to DOCKER_HOST (else the default socket) and ignores the Docker
# CLI's current context, which the Command scripts follow: pin both to the context's daemon.
if [ -z "${DOCKER_HOST:-}" ]; then
  DOCKER_HOST=$(docker context inspect -f '{{.Endpoints.docker.Host}}' 2>/dev/null || true)
  if [ -n "$DOCKER_HOST" ]; then export DOCKER_HOST; else unset DOCKER_HOST; fi
fi
docker info >/dev/null 2>&1 || {
  echo "error: the Docker engine does not answer (docker info)" >&2
  exit 1
}

[ -d node_modules ] || npm ci --no-audit --no-fund

# Secrets in the stack are encrypted with a passphrase; keep a generated one next to the
# local state unless the caller brings their own.
mkdir -p .pulumi-state
chmod 0700 .pulumi-state
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  passphrase_file=.pulumi-state/passphrase
  if [ ! -s "$passphrase_file" ]; then
    (umask 077 && head -c 32 /dev/urandom | base64 > "$passphrase_file")
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE=$PWD/$passphrase_file
fi

export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
pulumi stack select --create "$stack" --non-interactive
pulumi up --stack "$stack" --yes "$@"
