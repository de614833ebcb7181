# Stand-in for postgres:17-bookworm (docker/local-base-images.sh builds it): Debian bookworm's
# PostgreSQL 15, since the official image's 17 comes from apt.postgresql.org, which this machine
# cannot reach. Laid out as the official image: the server binaries on PATH (pg_isready for
# compose's healthcheck), PGDATA in the /var/lib/postgresql/data volume, an entrypoint that makes
# the cluster on first start from POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB, user postgres.
# The cluster's locale is C.UTF-8 (the official image's is en_US.utf8). A volume made by this
# image holds a version 15 cluster: the real postgres:17 image will not open it.
FROM debian:bookworm-slim
ENV PG_MAJOR=15 \
    PGDATA=/var/lib/postgresql/data \
    LANG=C.UTF-8
ENV PATH=/usr/lib/postgresql/${PG_MAJOR}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# No cluster at install time (the entrypoint makes it in the volume); listen beyond localhost.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/docker.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends postgresql-${PG_MAJOR} \
 && rm -rf /var/lib/apt/lists/* \
 && sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" /usr/share/postgresql/${PG_MAJOR}/postgresql.conf.sample \
 && mkdir -p "$PGDATA" /var/run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
 && chmod 1777 "$PGDATA"
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /var/lib/postgresql/data
ENTRYPOINT ["docker-entrypoint.sh"]
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres"]
