# The Jump lakehouse: Dagster UI and daemon (or the dashboard), with the locked dependencies and a prepared
# dbt manifest.
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

COPY . .
RUN uv sync --frozen --no-dev \
    && dbt parse --quiet --project-dir dbt_project --profiles-dir dbt_project \
    && useradd --create-home --uid 1000 jump \
    && mkdir -p "$DAGSTER_HOME" "$JUMP_DATA_DIR" \
    && cp dagster.yaml "$DAGSTER_HOME/dagster.yaml" \
    && chown -R jump "$DAGSTER_HOME" "$JUMP_DATA_DIR" dbt_project

USER jump
VOLUME ["/app/data"]
# 3000: the Dagster UI. 8501: the dashboard, served by the same image with
#   docker run -p 8501:8501 -v $PWD/data:/app/data jump-platform python -m jump_platform.dashboard --host 0.0.0.0
EXPOSE 3000 8501
# The UI and the daemon (schedules, sensors, automation), listening on all interfaces of the container.
CMD ["dagster", "dev", "-w", "workspace.yaml", "-h", "0.0.0.0", "-p", "3000"]
