#!/usr/bin/env bash
# Entrypoint of the project's local postgres:15-compatible test image.
#
# Written from the documented contract of the official postgres image (environment
# variables, /docker-entrypoint-initdb.d, arguments passed to `postgres`), not copied from it.
# Behaviour in short:
#   - a first argument starting with "-" means "postgres <args>";
#   - only the `postgres` command gets the setup below; anything else is exec'ed unchanged;
#   - as root: prepare PGDATA and the socket directory, then re-run this script as `postgres`;
#   - initdb only when $PGDATA/PG_VERSION is missing; an existing (e.g. pg_basebackup'ed)
#     data directory is started exactly as it is;
#   - finally `exec postgres "$@"`, so the postmaster is PID 1 and `docker stop` (SIGINT)
#     is a fast shutdown.
# Passwords are never printed.
set -Eeuo pipefail

readonly PG_USER_NAME=postgres # the OS account; its uid is Debian's, not the official 999
readonly SOCKET_DIR=/var/run/postgresql
export PGDATA="${PGDATA:-/var/lib/postgresql/data}"

log() { printf '%s [entrypoint] %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$*"; }
die() {
  printf '%s [entrypoint] ERROR: %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$*" >&2
  exit 1
}

# Resolve VAR from VAR or from the file named by VAR_FILE (Docker/Pulumi secrets), so the
# secret itself never has to sit in the container's configuration.
read_env_or_file() {
  local name="$1" fallback="${2:-}"
  local file_name="${name}_FILE"
  local direct="${!name:-}" path="${!file_name:-}"
  if [[ -n "$direct" && -n "$path" ]]; then
    die "both $name and $file_name are set; use only one"
  fi
  local value="$fallback"
  if [[ -n "$direct" ]]; then
    value="$direct"
  elif [[ -n "$path" ]]; then
    [[ -r "$path" ]] || die "$file_name points to '$path', which is not readable by $(id -un)"
    value="$(<"$path")"
  fi
  export "$name=$value"
  unset "$file_name"
}

# Options that only print something must not trigger initialisation (same as upstream).
wants_help_only() {
  local arg
  for arg in "$@"; do
    case "$arg" in
      -'?' | --help | --describe-config | -V | --version | -C) return 0 ;;
    esac
  done
  return 1
}

# pg_ctl hands its -o string to /bin/sh, so every container argument is single-quoted in a
# form that POSIX sh understands (printf %q would emit bash-only $'...' forms).
sh_quote_all() {
  local out="" arg
  for arg in "$@"; do
    out+=" '${arg//\'/\'\\\'\'}'"
  done
  printf '%s' "${out# }"
}

prepare_dirs_as_root() {
  mkdir -p "$PGDATA" "$SOCKET_DIR"
  # Only touch what is not ours yet: a large existing data directory then costs nothing.
  find "$PGDATA" \! -user "$PG_USER_NAME" -exec chown "$PG_USER_NAME:$PG_USER_NAME" '{}' +
  chmod 0700 "$PGDATA"
  chown "$PG_USER_NAME:$PG_USER_NAME" "$SOCKET_DIR"
  chmod 3777 "$SOCKET_DIR"
  if [[ -n "${POSTGRES_INITDB_WALDIR:-}" ]]; then
    mkdir -p "$POSTGRES_INITDB_WALDIR"
    find "$POSTGRES_INITDB_WALDIR" \! -user "$PG_USER_NAME" \
      -exec chown "$PG_USER_NAME:$PG_USER_NAME" '{}' +
    chmod 0700 "$POSTGRES_INITDB_WALDIR"
  fi
}

prepare_dirs_as_user() {
  # Started with --user postgres: create what we may, fix the mode where we own it.
  mkdir -p "$PGDATA" 2>/dev/null || true
  if [[ -O "$PGDATA" ]]; then
    chmod 0700 "$PGDATA"
  fi
  if [[ -n "${POSTGRES_INITDB_WALDIR:-}" ]]; then
    mkdir -p "$POSTGRES_INITDB_WALDIR" 2>/dev/null || true
  fi
}

run_initdb() {
  local -a extra=()
  # Documented as a plain space-separated string (e.g. "--data-checksums").
  if [[ -n "${POSTGRES_INITDB_ARGS:-}" ]]; then
    read -r -a extra <<<"$POSTGRES_INITDB_ARGS"
  fi
  if [[ -n "${POSTGRES_INITDB_WALDIR:-}" ]]; then
    extra+=("--waldir=$POSTGRES_INITDB_WALDIR")
  fi
  log "initialising a new cluster in $PGDATA for user '$POSTGRES_USER'"
  if [[ -n "$POSTGRES_PASSWORD" ]]; then
    # Process substitution keeps the password off the command line and out of any file.
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
      "${extra[@]}"
  else
    initdb --username="$POSTGRES_USER" "${extra[@]}"
  fi
  printf '\nhost all all all %s\n' "$AUTH_METHOD" >>"$PGDATA/pg_hba.conf"
}

psql_local() {
  psql -X -v ON_ERROR_STOP=1 --host "$SOCKET_DIR" --port "$TEMP_PORT" \
    --username "$POSTGRES_USER" --no-password "$@"
}

run_init_scripts() {
  local dir=/docker-entrypoint-initdb.d f
  [[ -d "$dir" ]] || return 0
  shopt -s nullglob
  for f in "$dir"/*; do
    case "$f" in
      *.sh)
        if [[ -x "$f" ]]; then
          log "running $f"
          "$f"
        else
          log "sourcing $f"
          # Scripts written for the official image may use unset variables; -u is ours only.
          set +u
          # shellcheck disable=SC1090
          . "$f"
          set -u
        fi
        ;;
      *.sql)
        log "running $f"
        psql_local --dbname "$POSTGRES_DB" -f "$f"
        ;;
      *.sql.gz)
        log "running $f"
        gzip -dc "$f" | psql_local --dbname "$POSTGRES_DB"
        ;;
      *) log "ignoring $f" ;;
    esac
  done
  shopt -u nullglob
}

initialise_cluster() {
  # $@ are the arguments the container gives to postgres (without the word "postgres").
  if [[ -z "$POSTGRES_PASSWORD" && "$AUTH_METHOD" != trust ]]; then
    die "the database is uninitialised and no superuser password is set: set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE (or POSTGRES_HOST_AUTH_METHOD=trust, not recommended)"
  fi
  if [[ "$AUTH_METHOD" == trust ]]; then
    log "WARNING: POSTGRES_HOST_AUTH_METHOD=trust lets anyone connect without a password"
  fi

  run_initdb

  # The container's own arguments (e.g. -c config_file=...) go to the temporary server too:
  # a project's pg_hba.conf/pg_ident.conf may only be reachable through them.
  local server_opts
  server_opts="$(sh_quote_all "$@")"
  server_opts+=" -c listen_addresses='' -c unix_socket_directories='$SOCKET_DIR'"
  server_opts+=" -p $TEMP_PORT"
  log "starting a temporary local-only server for initialisation"
  pg_ctl -D "$PGDATA" -w start -o "$server_opts"

  export PGPASSWORD="$POSTGRES_PASSWORD"
  if [[ "$POSTGRES_DB" != postgres ]]; then
    log "creating database '$POSTGRES_DB'"
    # :"name" is psql's identifier quoting, safe for any database name.
    psql_local --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  run_init_scripts
  unset PGPASSWORD

  log "stopping the temporary server"
  pg_ctl -D "$PGDATA" -m fast -w stop
  log "initialisation complete"
}

main() {
  if [[ "${1:-}" == -* ]]; then
    set -- postgres "$@"
  fi
  if [[ "${1:-}" != postgres ]] || wants_help_only "$@"; then
    exec "$@"
  fi

  if [[ "$(id -u)" == 0 ]]; then
    prepare_dirs_as_root
    # HOME must follow the user, or psql/initdb would look at /root.
    export HOME=/var/lib/postgresql
    if command -v setpriv >/dev/null 2>&1; then
      exec setpriv --reuid="$PG_USER_NAME" --regid="$PG_USER_NAME" --init-groups \
        "${BASH_SOURCE[0]}" "$@"
    fi
    exec runuser -u "$PG_USER_NAME" -- "${BASH_SOURCE[0]}" "$@"
  fi
  prepare_dirs_as_user

  # Secrets are read here, as the postgres user, like upstream does.
  read_env_or_file POSTGRES_USER postgres
  read_env_or_file POSTGRES_PASSWORD
  read_env_or_file POSTGRES_DB "$POSTGRES_USER"
  read_env_or_file POSTGRES_INITDB_ARGS
  AUTH_METHOD="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
  TEMP_PORT="${PGPORT:-5432}"

  if [[ -s "$PGDATA/PG_VERSION" ]]; then
    log "$PGDATA already holds a cluster (PG_VERSION $(<"$PGDATA/PG_VERSION")); starting it as it is"
  else
    initialise_cluster "${@:2}"
  fi

  # The server has no use for the password; keep it out of the postmaster's environment.
  unset POSTGRES_PASSWORD
  exec "$@"
}

main "$@"
