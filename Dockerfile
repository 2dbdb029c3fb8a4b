# One image for web, worker, scheduler and migrations: the command picks the role
# (`orderdesk serve` by default; `orderdesk worker`, `orderdesk scheduler`, `orderdesk db upgrade`).
# Dependencies come from the hashed lock, exactly as `make smoke` installs them.
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY requirements/runtime.txt requirements/runtime.txt
RUN python -m venv /opt/orderdesk \
 && /opt/orderdesk/bin/pip install --require-hashes -r requirements/runtime.txt
COPY . .
RUN /opt/orderdesk/bin/pip wheel --no-deps -w /tmp/dist . \
 && /opt/orderdesk/bin/pip install --no-deps /tmp/dist/orderdesk-*.whl

FROM python:3.11-slim-bookworm
RUN useradd --system --create-home --home-dir /var/lib/orderdesk --uid 10001 orderdesk
COPY --from=build /opt/orderdesk /opt/orderdesk
# ORDERDESK_HOME: where a SQLite file or uploads would go (mount a volume there).
ENV PATH=/opt/orderdesk/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    ORDERDESK_HOME=/var/lib/orderdesk \
    LOG_FORMAT=json
USER orderdesk
WORKDIR /var/lib/orderdesk
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" || exit 1
CMD ["orderdesk", "serve", "--host", "0.0.0.0", "--port", "8000"]
