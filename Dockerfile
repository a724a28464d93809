FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY isms isms
COPY assets assets
COPY audits audits
COPY training training
RUN pip install --no-cache-dir .
COPY . .
RUN SECRET_KEY=build-only python manage.py collectstatic --no-input -v0 \
    && SECRET_KEY=build-only python manage.py compilemessages --ignore=.venv -v0
RUN useradd --system --home /app isms && mkdir -p /app/var && chown isms /app/var
USER isms
EXPOSE 8000
# --timeout 120: imports run in the Celery worker, so the longest work a request still
# does inline is an export of the whole register (an xlsx of 120,000 assets takes tens of
# seconds on a loaded 2-core host; bench/asset_import.py); 30 s, gunicorn's default, was
# too tight for that, and far longer would leave a hung worker blocking its slot.
CMD ["gunicorn", "isms.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4", "--timeout", "120", \
     "--graceful-timeout", "30", "--access-logfile", "-"]
