# The one image of ingest, match, notify, the topic creator and the fake SMS gateway; the
# command picks which (see docker-compose.yml). Dependencies come from pyproject.toml's
# [project].dependencies; the code runs from /app with PYTHONPATH=/app, not installed.
#
# Built on plain Debian 12, whose python3 is 3.11 (the project's Python), so that the same file
# builds with a registry (BASE_IMAGE=debian:bookworm-slim, the default) and without one
# (BASE_IMAGE=local/debian:bookworm, made by scripts/base-image.sh; see docker-compose.offline.yml).
# No `# syntax=` line on purpose: that would pull a frontend image; the engine's built-in
# BuildKit frontend already knows RUN --mount.
ARG BASE_IMAGE=debian:bookworm-slim

# The wheelhouse scripts/composestack.py stages in var/docker/wheels (from $CHUNFENG_CACHE), if
# any: then pip installs from it alone, without reaching PyPI. The [s] makes the COPY a no-op
# when there is none (a plain clone building the official stack), and pip uses PyPI instead.
FROM ${BASE_IMAGE} AS wheels
RUN mkdir /wheels
COPY var/docker/wheel[s] /wheels/

FROM ${BASE_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONPATH=/app \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv ca-certificates fonts-wqy-zenhei \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv

WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml (or the
# wheelhouse) changes. The wheels are bind-mounted, not copied, so they add nothing to the image;
# without a wheelhouse pip keeps what it downloads in a build cache mount for the next build.
COPY pyproject.toml ./
RUN --mount=type=bind,from=wheels,source=/wheels,target=/tmp/wheels \
    --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && if [ -n "$(ls /tmp/wheels)" ]; then set -- --no-index --find-links /tmp/wheels; fi \
    && pip install "$@" -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY shared/ ./shared/
COPY services/ ./services/

# Run as a non-root user; var/ is where notify's file sink and the gateway's JSONL go.
RUN useradd --system --uid 10001 --home-dir /app --no-create-home app \
    && mkdir -p /app/var \
    && chown app:app /app/var
USER app

EXPOSE 8001 8002 8003 8025
