#!/bin/sh
# Run once by the postgres image when it creates its data directory: the two roles of the
# portal (README, "The portal's database roles"). The superuser of the image is used only
# here and for maintenance; the portal never connects as it.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     -v owner_password="$ISMS_OWNER_PASSWORD" -v app_password="$ISMS_APP_PASSWORD" <<'SQL'
-- Owns the tables and runs the migrations; not a superuser.
CREATE ROLE isms_owner LOGIN PASSWORD :'owner_password'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
-- The portal (web, worker, beat): owns nothing; manage.py grant_app_role gives it the rest.
CREATE ROLE isms_app LOGIN PASSWORD :'app_password'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
CREATE DATABASE isms OWNER isms_owner;
\connect isms
REVOKE ALL ON DATABASE isms FROM PUBLIC;
GRANT CONNECT ON DATABASE isms TO isms_app;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO isms_owner;
SQL
