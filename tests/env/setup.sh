#!/usr/bin/env bash
# Prepare everything the live tests need: a Docker daemon and the local PostgreSQL 15 image.
# Called by .ci/run and by developers (`npm run env:setup`); safe to run again.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
started=$SECONDS

printf '[env:setup] step 1/3: PostgreSQL 15 client tools on the host (psql checks the tests make)\n'
if ! command -v psql >/dev/null 2>&1 && [ ! -x /usr/lib/postgresql/15/bin/psql ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client-15
fi

printf '[env:setup] step 2/3: Docker daemon\n'
bash "$SCRIPT_DIR/ensure-docker.sh"

printf '[env:setup] step 3/3: test image %s\n' "${TEST_IMAGE:-postgres-replication-test:15}"
bash "$SCRIPT_DIR/../image/build-image.sh"

printf '[env:setup] ready in %ss (image %s)\n' "$((SECONDS - started))" \
  "${TEST_IMAGE:-postgres-replication-test:15}"
