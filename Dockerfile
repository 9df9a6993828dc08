# Tradepoint: the API (uvicorn) and the scheduler run from this one image (docker-compose.yml).
# The Python the test suite runs on.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TRADEPOINT_DATA_DIR=/var/lib/tradepoint

# Every dependency (lxml, psycopg, tantivy, uvloop, httptools) ships manylinux wheels: no
# compiler needed. A non-root user owns the data dir.
RUN useradd --system --uid 10001 --home-dir /var/lib/tradepoint --create-home tradepoint

WORKDIR /app
# Dependencies first, so that code changes do not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p search_api crawlers schedules \
    && touch search_api/__init__.py crawlers/__init__.py schedules/__init__.py \
    && pip install . \
    && pip uninstall -y tradepoint
COPY . .
# Editable: the templates, migrations and bundled data are read from /app.
RUN pip install --no-deps -e . && python -m compileall -q search_api crawlers schedules

USER tradepoint
EXPOSE 8000
# Health checks are in docker-compose.yml: the API and the scheduler need different ones.
CMD ["sh", "-c", "tradepoint db upgrade && exec uvicorn --factory search_api.app:create_app --host 0.0.0.0 --port 8000 --workers 2 --loop uvloop --http httptools --proxy-headers --forwarded-allow-ips='*'"]
