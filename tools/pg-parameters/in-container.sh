#!/usr/bin/env bash
# Runs inside a PostgreSQL 15 container as the postgres user (tools/pg-parameters/extract.sh
# starts it) and prints components/postgres15-parameters.json on one line.
#
# pg_settings is the source of every field but three, which it cannot tell and which are
# therefore measured with `postgres -C name -c name=value` (no server, no data directory):
#   - hidden_enumvals: enum spellings PostgreSQL accepts but leaves out of enumvals (the
#     boolean spellings several enums take, "debug", client_min_messages' "info", wal_level's
#     "archive"/"hot_standby"), each with the value it stands for;
#   - refused: boolean values a check hook of this build refuses (bonjour = on), with the
#     server's message;
#   - effective_max / effective_max_note: for an integer whose max_val a check hook refuses
#     (max_stack_depth against the stack rlimit, the backend-count limit), the largest value
#     the server accepts with every other setting at its default.
set -euo pipefail

work=$(mktemp -d)
probe_dir=$work/probe
mkdir -m 700 "$probe_dir"
: >"$probe_dir/postgresql.conf"
trap 'pg_ctl -D "$work/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

# Prints the value the server would use for name=value and succeeds, or fails leaving the
# server's message in $scratch/err and its DETAIL, if any, in $scratch/detail. Each parallel
# job sets its own $scratch.
scratch=$work
probe() {
  local out
  if out=$(postgres -D "$probe_dir" -C "$1" -c "$1=$2" 2>"$scratch/stderr"); then
    printf '%s' "$out"
  else
    # A -c setting is refused as FATAL; LOG lines are only about the (empty) config file.
    sed -n -E 's/^.*FATAL:  //p' "$scratch/stderr" | head -n 1 >"$scratch/err"
    sed -n -E 's/^.*DETAIL:  //p' "$scratch/stderr" | head -n 1 >"$scratch/detail"
    return 1
  fi
}

initdb -D "$work/data" -U postgres -A trust --no-sync >/dev/null
pg_ctl -D "$work/data" -w -o "-c listen_addresses='' -k $work" start >/dev/null
sql() { psql -h "$work" -U postgres -d postgres -X -A -t -q -v ON_ERROR_STOP=1 "$@"; }

probes=$work/probes.tsv
: >"$probes"
record() { # name, kind, value, detail
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4//\\/\\\\}" >>"$probes"
}

# Hidden enum spellings are, in PostgreSQL 15, the boolean spellings, the spellings another
# enum lists (client_min_messages takes "info") and three historical names; every enum is
# tried with all of them, a few enums at a time.
mapfile -t candidates < <(
  {
    printf '%s\n' on off true false yes no 1 0 debug archive hot_standby
    sql -c "SELECT DISTINCT lower(v) FROM pg_settings, unnest(enumvals) AS v"
  } | sort -u
)
probe_enum() { # name, listed values joined by commas; prints "name<TAB>spelling<TAB>setting"
  local name=$1 enumvals=$2 value candidate canonical listed
  scratch=$(mktemp -d -p "$work")
  IFS=, read -r -a listed <<<"$enumvals"
  for value in "${listed[@]}"; do
    probe "$name" "$value" >/dev/null || {
      echo "extract: $name refuses its own enumval $value: $(cat "$scratch/err")" >&2
      return 1
    }
  done
  for candidate in "${candidates[@]}"; do
    if [[ ",${enumvals,,}," == *",$candidate,"* ]]; then continue; fi
    if canonical=$(probe "$name" "$candidate"); then
      printf '%s\t%s\t%s\n' "$name" "$candidate" "$canonical"
    fi
  done
}
jobs_dir=$work/enum-jobs
mkdir "$jobs_dir"
while IFS=$'\t' read -r name enumvals; do
  while (($(jobs -rp | wc -l) >= $(nproc) * 2)); do wait -n; done
  probe_enum "$name" "$enumvals" >"$jobs_dir/$name" &
done < <(sql -F $'\t' -c "SELECT name, array_to_string(enumvals, ',') FROM pg_settings
                          WHERE vartype = 'enum' AND name NOT LIKE '%.%' AND context <> 'internal'")
for job in $(jobs -p); do wait "$job"; done
while IFS=$'\t' read -r name spelling canonical; do
  record "$name" hidden "$spelling" "$canonical"
done < <(cat "$jobs_dir"/*)

while read -r name; do
  for value in on off; do
    if ! probe "$name" "$value" >/dev/null; then record "$name" refused "$value" "$(cat "$scratch/err")"; fi
  done
done < <(sql -c "SELECT name FROM pg_settings
                 WHERE vartype = 'bool' AND name NOT LIKE '%.%' AND context <> 'internal'")

while IFS=$'\t' read -r name min max; do
  probe "$name" "$min" >/dev/null || {
    echo "extract: $name refuses its own min_val $min: $(cat "$scratch/err")" >&2
    exit 1
  }
  if ! probe "$name" "$max" >/dev/null; then
    # The message only repeats the value; the DETAIL, when there is one, says why.
    note=$(cat "$scratch/detail")
    low=$min high=$max # low is accepted, high is refused
    while ((high - low > 1)); do
      mid=$(((low + high) / 2))
      if probe "$name" "$mid" >/dev/null; then low=$mid; else high=$mid; fi
    done
    record "$name" effective_max "$low" "$note"
  fi
done < <(sql -F $'\t' -c "SELECT name, min_val, max_val FROM pg_settings
                          WHERE vartype = 'integer' AND name NOT LIKE '%.%' AND context <> 'internal'")

# Real limits are printed with %g; every one must be accepted as printed, or the data is wrong.
while IFS=$'\t' read -r name min max; do
  for value in "$min" "$max"; do
    [[ $value == *e+308 ]] && continue # DBL_MAX, restored exactly below
    probe "$name" "$value" >/dev/null || {
      echo "extract: $name refuses its own limit $value: $(cat "$scratch/err")" >&2
      exit 1
    }
  done
done < <(sql -F $'\t' -c "SELECT name, min_val, max_val FROM pg_settings
                          WHERE vartype = 'real' AND name NOT LIKE '%.%' AND context <> 'internal'")

sql -c "CREATE TEMP TABLE probes (name text, kind text, value text, detail text)" \
  -c "\\copy probes FROM '$probes'" \
  -c "$(
    cat <<'SQL'
-- pg_settings prints real limits with %g, which turns DBL_MAX into 1.79769e+308, a value
-- smaller than DBL_MAX; the real limit is DBL_MAX itself.
CREATE FUNCTION pg_temp.real_limit(text) RETURNS float8 LANGUAGE sql AS $$
  SELECT CASE $1 WHEN '1.79769e+308' THEN '1.7976931348623157e308'::float8
                 WHEN '-1.79769e+308' THEN '-1.7976931348623157e308'::float8
                 ELSE $1::float8 END
$$;
SELECT json_build_object(
  'source', version(),
  'parameters', json_object_agg(s.name, json_strip_nulls(json_build_object(
    'context', s.context,
    'vartype', s.vartype,
    'unit', s.unit,
    'min_val', CASE s.vartype WHEN 'integer' THEN to_json(s.min_val::bigint)
                              WHEN 'real' THEN to_json(pg_temp.real_limit(s.min_val)) END,
    'max_val', CASE s.vartype WHEN 'integer' THEN to_json(s.max_val::bigint)
                              WHEN 'real' THEN to_json(pg_temp.real_limit(s.max_val)) END,
    'boot_val', CASE s.vartype WHEN 'integer' THEN to_json(s.boot_val::bigint)
                               WHEN 'real' THEN to_json(s.boot_val::float8) END,
    'enumvals', to_json(s.enumvals),
    'hidden_enumvals', (SELECT json_object_agg(p.value, p.detail ORDER BY p.value)
                        FROM probes p WHERE p.name = s.name AND p.kind = 'hidden'),
    'refused', (SELECT json_object_agg(p.value, p.detail ORDER BY p.value)
                FROM probes p WHERE p.name = s.name AND p.kind = 'refused'),
    'effective_max', (SELECT p.value::bigint FROM probes p
                      WHERE p.name = s.name AND p.kind = 'effective_max'),
    'effective_max_note', (SELECT NULLIF(p.detail, '') FROM probes p
                           WHERE p.name = s.name AND p.kind = 'effective_max')
  )) ORDER BY s.name COLLATE "C"))
FROM pg_settings s
WHERE s.name NOT LIKE '%.%'
SQL
  )"
