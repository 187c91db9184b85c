# The one image of ingest, match, notify, the topic creator and the fake SMS gateway; the
# command picks which (see docker-compose.yml). Dependencies come from pyproject.toml's
# [project].dependencies; the code runs from /app with PYTHONPATH=/app, not installed.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY shared/ ./shared/
COPY services/ ./services/

# Run as a non-root user; var/ is where notify's file sink and the gateway's JSONL go.
RUN useradd --system --uid 10001 --home-dir /app --no-create-home app \
    && mkdir -p /app/var \
    && chown app:app /app/var
USER app

EXPOSE 8001 8002 8003 8025
