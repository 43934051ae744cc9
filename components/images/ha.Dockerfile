# The engines' image: the cluster's own PostgreSQL image plus Debian's HAProxy (the endpoint
# proxy; its psql answers the manual mode's health checks), Patroni with its etcd and
# PostgreSQL drivers, etcd, pgBackRest and the cron its scheduled backups run from. Built by components/scripts/engine-image.sh only
# when the configured image lacks one of them.
ARG BASE
FROM ${BASE}
USER root
RUN apt-get update -qq \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    haproxy patroni python3-etcd python3-psycopg2 etcd-server etcd-client pgbackrest cron >/dev/null \
  && rm -rf /var/lib/apt/lists/*
