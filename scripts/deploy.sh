#!/usr/bin/env bash
# One command from a fresh clone to a running replica set: installs the npm packages, then
# runs `pulumi up` on the stack (default dev) with a local file backend in .pulumi-state/ (no
# Pulumi account) when the Pulumi CLI is installed, or the same program on the same stack
# through the live harness (tools/live) when it is not. Extra arguments go to `up`.
set -euo pipefail
cd "$(dirname "$0")/.."
stack=${STACK:-dev}
fallback_image=${TEST_IMAGE:-postgres-replication-test:15}

say() { printf '[deploy] %s\n' "$*"; }
die() {
  printf '[deploy] error: %s\n' "$*" >&2
  exit 1
}

for tool in node npm docker; do
  command -v "$tool" >/dev/null || die "$tool is not installed (needed: Node.js 20 with npm, and Docker)"
done

# The docker provider talks to DOCKER_HOST (else the default socket) and ignores the Docker
# CLI's current context, which the Command scripts follow: pin both to the context's daemon.
if [ -z "${DOCKER_HOST:-}" ]; then
  DOCKER_HOST=$(docker context inspect -f '{{.Endpoints.docker.Host}}' 2>/dev/null || true)
  if [ -n "$DOCKER_HOST" ]; then export DOCKER_HOST; else unset DOCKER_HOST; fi
fi
docker info >/dev/null 2>&1 ||
  die "the Docker engine does not answer (docker info); start it (as root on Debian: npm run env:setup), then run npm run deploy again"

if [ ! -d node_modules ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
fi

# Secrets in the stack are encrypted with a passphrase; keep a generated one next to the
# local state unless the caller brings their own. The harness uses the same file.
mkdir -p .pulumi-state
chmod 0700 .pulumi-state
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  passphrase_file=.pulumi-state/passphrase
  if [ ! -s "$passphrase_file" ]; then
    (umask 077 && head -c 32 /dev/urandom | base64 >"$passphrase_file")
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE=$PWD/$passphrase_file
fi

if command -v pulumi >/dev/null; then
  engine=(pulumi)
  export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
  pulumi stack select --create "$stack" --non-interactive
else
  say "the Pulumi CLI is not installed; running the same program on stack $stack through the live harness (tools/live)"
  engine=(npm run --silent live --)
fi

# An image that cannot be pulled (no registry access) is replaced by the locally built one.
image=$("${engine[@]}" config get image --stack "$stack" 2>/dev/null || true)
image=${image:-postgres:15}
if ! docker image inspect "$image" >/dev/null 2>&1 && ! docker pull "$image" >/dev/null 2>&1; then
  say "image $image cannot be pulled here; using the locally built $fallback_image instead"
  if ! docker image inspect "$fallback_image" >/dev/null 2>&1; then
    say "building $fallback_image (debootstrap, about a minute; needs root)"
    bash tests/image/build-image.sh
  fi
  "${engine[@]}" config set image "$fallback_image" --stack "$stack"
fi

"${engine[@]}" up --stack "$stack" --yes "$@"

say "done. Connect with:"
say "  psql \"\$(${engine[*]} stack output --stack $stack --show-secrets connectionString)\""
