# The backup container's image: the cluster's own PostgreSQL image (its pgBackRest and psql)
# plus Debian's cron, which runs the scheduled backups. Built by
# components/scripts/backup-image.sh only when the configured image has no cron.
ARG BASE
FROM ${BASE}
USER root
RUN apt-get update -qq \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends cron pgbackrest >/dev/null \
  && rm -rf /var/lib/apt/lists/*
