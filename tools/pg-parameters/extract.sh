#!/usr/bin/env bash
# Regenerates components/postgres15-parameters.json, the PostgreSQL 15 parameter data that
# components/parameter-values.ts checks stack `parameters` against (name -> context, vartype,
# unit, min_val, max_val, boot_val, enumvals, and what pg_settings cannot tell: see
# in-container.sh), from a real server rather than by hand:
#
#   tools/pg-parameters/extract.sh [image]
#
# image: a postgres:15-compatible image; default $TEST_IMAGE or postgres-replication-test:15
# (`npm run env:setup` builds it). It runs in-container.sh as the postgres user in a throwaway
# container named prt-params-extract-<pid> (--rm; nothing else is created), then formats the
# file with prettier. Takes about a minute on 2 cores. Rerun it when the image moves to another
# PostgreSQL 15 build and review the diff: a parameter whose limits change changes what the
# stack accepts.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
image=${1:-${TEST_IMAGE:-postgres-replication-test:15}}
target=$root/components/postgres15-parameters.json
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

docker run --rm -i --name "prt-params-extract-$$" --user postgres --entrypoint bash \
  "$image" -s <"$here/in-container.sh" >"$tmp"

# A half-written or empty answer must not replace the committed data.
node -e '
  const data = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const count = Object.keys(data.parameters ?? {}).length;
  if (!/^PostgreSQL 15\./.test(data.source) || count < 300) {
    console.error(`extract: unexpected answer (${data.source}, ${count} parameters)`);
    process.exit(1);
  }
  console.error(`extract: ${count} parameters from ${data.source}`);
' "$tmp"
cp "$tmp" "$target"
(cd "$root" && npx prettier --log-level warn --write "$target")
