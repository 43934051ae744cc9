# The endpoint proxy's image: the cluster's own PostgreSQL image (its psql answers the health
# checks) plus Debian's HAProxy. Built by components/scripts/proxy-image.sh only when the
# configured image has no haproxy.
ARG BASE
FROM ${BASE}
USER root
RUN apt-get update -qq \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy >/dev/null \
  && rm -rf /var/lib/apt/lists/*
