# The front-end packages the portal serves itself (package.json), at their locked versions.
FROM node:20-bookworm-slim AS static
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# python-ldap (the directory sign-in) is built from source against OpenLDAP's headers.
RUN apt-get update && apt-get install -y --no-install-recommends gettext \
    gcc libldap2-dev libsasl2-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# The runtime lock (bin/lock), each file checked against its hash, in a layer of its own.
COPY requirements/bootstrap.txt requirements/base.txt requirements/
RUN pip install --no-cache-dir --require-hashes -r requirements/bootstrap.txt \
    && pip install --no-cache-dir --require-hashes -r requirements/base.txt
COPY pyproject.toml README.md ./
COPY isms isms
COPY assets assets
COPY audits audits
COPY acknowledgements acknowledgements
COPY training training
RUN pip install --no-cache-dir --no-deps --no-build-isolation .
COPY . .
COPY --from=static /app/node_modules node_modules
RUN SECRET_KEY=build-only python manage.py collectstatic --no-input -v0 \
    && SECRET_KEY=build-only python manage.py compilemessages --ignore=.venv -v0
RUN useradd --system --home /app isms && mkdir -p /app/var/media && chown -R isms /app/var
USER isms
EXPOSE 8000
# --timeout 300: imports run in the Celery worker; the longest work a request still does
# inline is an export of the whole register, and a sync worker is killed when one request
# outlasts the timeout. bench/asset_import.py on a loaded 2-core host: the CSV of 120,000
# assets took 88 s and the xlsx (openpyxl, CPU-bound) about 150-200 s, past 120 s. A hung
# worker is still reaped after five minutes.
CMD ["gunicorn", "isms.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4", "--timeout", "300", \
     "--graceful-timeout", "30", "--access-logfile", "-"]
