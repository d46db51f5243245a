# The Jump lakehouse: Dagster UI and daemon (or the dashboard), with the locked dependencies and a prepared
# dbt manifest.
#
# !! SECURITY: the Dagster UI has NO authentication. Anyone who reaches port 3000 can launch,
# !! cancel and wipe runs and read every table. Publish it on loopback only:
# !!     docker run -p 127.0.0.1:3000:3000 -v "$PWD/data:/app/data" jump-platform
# !! and put an authenticating reverse proxy in front of it before opening it to anyone else.
# !! The same goes for the dashboard (port 8501), which shows every mart to whoever reaches it.
FROM python:3.11-slim

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PATH=/app/.venv/bin:$PATH \
    DAGSTER_HOME=/app/.dagster_home \
    JUMP_DATA_DIR=/app/data

RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when the lock file changes.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project

# The code, the virtualenv and the manifest stay owned by root: the runtime user can read them, not
# change them. It may write only data/ (the lakehouse, landing zone, exports) and DAGSTER_HOME (run
# history, and dbt's per-run target and log folders, see DBT_TARGET_PATH below).
COPY . .
RUN uv sync --frozen --no-dev \
    && python -m jump_platform.runner.prepare \
    && chmod -R a+rX /app \
    && useradd --create-home --uid 1000 jump \
    && mkdir -p "$DAGSTER_HOME/dbt/target" "$DAGSTER_HOME/dbt/logs" "$JUMP_DATA_DIR" \
    && python -m jump_platform.runner.instance \
    && cp dbt_project/target/partial_parse.msgpack "$DAGSTER_HOME/dbt/target/" \
    && chown -R jump "$DAGSTER_HOME" "$JUMP_DATA_DIR"

# Set after the parse above (`make prepare`'s, with the runs' profile settings: a first run parses
# partially where the image runs on as many cores as it was built on), which writes the manifest
# into the read-only dbt_project/target/ that dagster-dbt reads. Each dbt run of dagster-dbt then writes its artifacts and logs in a
# subfolder of DBT_TARGET_PATH (it points DBT_LOG_PATH there too), outside the code.
ENV DBT_TARGET_PATH=/app/.dagster_home/dbt/target \
    DBT_LOG_PATH=/app/.dagster_home/dbt/logs

USER jump
# Two volumes: /app/data (the lakehouse, landing zone, exports) and DAGSTER_HOME (run history, the
# catalog's materializations, sensor cursors and schedule toggles, dbt's saved parse), so that
# neither dies with the container. Both must be writable by the user `jump`, uid 1000: a named
# volume is (Docker copies the image's folder, owned by jump, into it); for a folder of the host,
# `mkdir -p data && sudo chown 1000 data` first, or run with `--user "$(id -u)"` on a folder you own.
VOLUME ["/app/data", "/app/.dagster_home"]
# 3000: the Dagster UI. 8501: the dashboard, served by the same image instead of the UI with
#   docker run -p 127.0.0.1:8501:8501 -v "$PWD/data:/app/data" jump-platform \
#       python -m jump_platform.runner.dashboard --host 0.0.0.0
EXPOSE 3000 8501
# The daemon (schedules, sensors, automation) and the webserver as two services, each Dagster's own
# production command; the container stops when either does. Not `dagster dev` / `dg dev`: under
# them dagster-dbt re-parses the project into dbt_project/target/, which the runtime user may not
# write. First, the instance in the DAGSTER_HOME volume gets the image's configuration, with
# PostgreSQL storage when JUMP_DAGSTER_POSTGRES_URL is set (`python -m jump_platform.runner.instance`,
# as `make prepare` does; docker-compose.yml runs the three services apart on one such storage).
# The UI listens on all interfaces of the container and is unauthenticated (see the top of this
# file): publish the port on 127.0.0.1 only.
CMD ["bash", "-c", "python -m jump_platform.runner.instance && mkdir -p \"$DAGSTER_HOME/dbt/target\" \"$DAGSTER_HOME/dbt/logs\" && { dagster-daemon run -w workspace.yaml & dagster-webserver -w workspace.yaml -h 0.0.0.0 -p 3000 & wait -n; exit $?; }"]
