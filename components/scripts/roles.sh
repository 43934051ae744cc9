# Ensures, on the primary: the database (a first start that failed half-way leaves a data
# directory without it); the replication role (REPLICATION and LOGIN only, with its connection
# limit and password); the rewind role (LOGIN and EXECUTE on the four functions PostgreSQL's
# pg_rewind documentation lists, nothing else); the endpoint proxy's probe role (LOGIN only);
# the superuser's password. Safe to run again:
# this is how a password is rotated.
# Environment: PRIMARY_CONTAINER, SUPERUSER, DATABASE, REPLICATION_USER, REWIND_USER,
#   PROBE_USER, CONNECTION_LIMIT, and the secrets SUPERUSER_PASSWORD, REPLICATION_PASSWORD,
#   REWIND_PASSWORD, PROBE_PASSWORD.
require_env PRIMARY_CONTAINER SUPERUSER DATABASE REPLICATION_USER REWIND_USER CONNECTION_LIMIT \
  SUPERUSER_PASSWORD REPLICATION_PASSWORD REWIND_PASSWORD PROBE_USER PROBE_PASSWORD

wait_recovery_state 120 "$PRIMARY_CONTAINER"
[ "$recovery" = f ] || fail "$PRIMARY_CONTAINER is in recovery, not a primary"

# The passwords reach psql as environment variables (\getenv) and the server as literals in
# statements that this session keeps out of the server log, even when they fail.
docker exec -i -u postgres -e PGOPTIONS='-c synchronous_commit=local' \
  -e DATABASE -e REPLICATION_USER -e REWIND_USER -e CONNECTION_LIMIT \
  -e SUPERUSER_PASSWORD -e REPLICATION_PASSWORD -e REWIND_PASSWORD \
  -e PROBE_USER -e PROBE_PASSWORD \
  "$PRIMARY_CONTAINER" psql -X -q -v ON_ERROR_STOP=1 -U "$SUPERUSER" -d postgres <<'SQL'
SET log_statement = 'none';
SET log_min_duration_statement = -1;
SET log_min_error_statement = 'panic';
\getenv replication_user REPLICATION_USER
\getenv connection_limit CONNECTION_LIMIT
\getenv replication_password REPLICATION_PASSWORD
\getenv superuser_password SUPERUSER_PASSWORD
\getenv database DATABASE
\getenv rewind_user REWIND_USER
\getenv rewind_password REWIND_PASSWORD
\getenv probe_user PROBE_USER
\getenv probe_password PROBE_PASSWORD
SELECT format('CREATE DATABASE %I', :'database')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \gexec
SELECT format('CREATE ROLE %I', :'replication_user')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'replication_user') \gexec
SELECT format(
  'ALTER ROLE %I WITH LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOBYPASSRLS CONNECTION LIMIT %s PASSWORD %L',
  :'replication_user', :'connection_limit'::int, :'replication_password') \gexec
SELECT format('CREATE ROLE %I', :'rewind_user')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'rewind_user') \gexec
SELECT format(
  'ALTER ROLE %I WITH LOGIN NOREPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOBYPASSRLS PASSWORD %L',
  :'rewind_user', :'rewind_password') \gexec
SELECT format('GRANT EXECUTE ON FUNCTION %s TO %I', f, :'rewind_user')
FROM unnest(ARRAY[
  'pg_catalog.pg_ls_dir(text, boolean, boolean)',
  'pg_catalog.pg_stat_file(text, boolean)',
  'pg_catalog.pg_read_binary_file(text)',
  'pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)']) AS f \gexec
SELECT format('CREATE ROLE %I', :'probe_user')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'probe_user') \gexec
SELECT format(
  'ALTER ROLE %I WITH LOGIN NOREPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOBYPASSRLS CONNECTION LIMIT 20 PASSWORD %L',
  :'probe_user', :'probe_password') \gexec
SELECT format('ALTER ROLE %I WITH PASSWORD %L', current_user, :'superuser_password') \gexec
SQL
log "database $DATABASE, role $REPLICATION_USER (REPLICATION, LOGIN, connection limit $CONNECTION_LIMIT) and role $REWIND_USER (pg_rewind) are in place on $PRIMARY_CONTAINER"
