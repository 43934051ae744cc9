# Ensures, on the primary, the replication role (REPLICATION and LOGIN only, with its
# connection limit and password) and the superuser's password. Safe to run again: this is how
# a password is rotated.
# Environment: PRIMARY_CONTAINER, SUPERUSER, REPLICATION_USER, CONNECTION_LIMIT, and the
#   secrets SUPERUSER_PASSWORD and REPLICATION_PASSWORD.
require_env PRIMARY_CONTAINER SUPERUSER REPLICATION_USER CONNECTION_LIMIT \
  SUPERUSER_PASSWORD REPLICATION_PASSWORD

wait_for 120 "$PRIMARY_CONTAINER to accept connections" accepts_sql "$PRIMARY_CONTAINER"
in_recovery "$PRIMARY_CONTAINER" && fail "$PRIMARY_CONTAINER is in recovery, not a primary"

# The passwords reach psql as environment variables (\getenv) and the server as literals in
# statements that this session keeps out of the server log, even when they fail.
docker exec -i -u postgres -e PGOPTIONS='-c synchronous_commit=local' \
  -e REPLICATION_USER -e CONNECTION_LIMIT -e SUPERUSER_PASSWORD -e REPLICATION_PASSWORD \
  "$PRIMARY_CONTAINER" psql -X -q -v ON_ERROR_STOP=1 -U "$SUPERUSER" -d postgres <<'SQL'
SET log_statement = 'none';
SET log_min_duration_statement = -1;
SET log_min_error_statement = 'panic';
\getenv replication_user REPLICATION_USER
\getenv connection_limit CONNECTION_LIMIT
\getenv replication_password REPLICATION_PASSWORD
\getenv superuser_password SUPERUSER_PASSWORD
SELECT format('CREATE ROLE %I', :'replication_user')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'replication_user') \gexec
SELECT format(
  'ALTER ROLE %I WITH LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOBYPASSRLS CONNECTION LIMIT %s PASSWORD %L',
  :'replication_user', :'connection_limit'::int, :'replication_password') \gexec
SELECT format('ALTER ROLE %I WITH PASSWORD %L', current_user, :'superuser_password') \gexec
SQL
log "role $REPLICATION_USER (REPLICATION, LOGIN, connection limit $CONNECTION_LIMIT) is in place on $PRIMARY_CONTAINER"
