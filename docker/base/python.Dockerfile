# Stand-in for python:3.11-slim-bookworm (docker/local-base-images.sh builds it). The official image
# builds CPython 3.11.x from source into /usr/local; this one is Debian bookworm's python3 (3.11.2)
# and pip (23.0.1), reached the same way: python, python3, pip, pip3 in /usr/local/bin, and `pip
# install` as root allowed (the official image has no EXTERNALLY-MANAGED marker). Root's installs land
# in /usr/local/lib/python3.11/dist-packages, their scripts in /usr/local/bin, as with the official one.
FROM debian:bookworm-slim
ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8
# The official slim image's runtime packages: TLS roots, netbase, tzdata.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates netbase tzdata python3 python3-pip python3-venv \
 && rm -rf /var/lib/apt/lists/* \
 && rm -f /usr/lib/python3.11/EXTERNALLY-MANAGED \
 && for n in python python3; do ln -s /usr/bin/python3 /usr/local/bin/$n; done \
 && for n in pip pip3; do ln -s /usr/bin/pip3 /usr/local/bin/$n; done \
 && python --version && pip --version
ENV PYTHON_VERSION=3.11.2
CMD ["python3"]
