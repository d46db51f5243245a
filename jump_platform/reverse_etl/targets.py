"""The dlt destinations the syncs load into: a PostgreSQL database (the CRM) and an HTTP batch API.

Both are dlt's own: the `postgres` destination, and a custom destination (`@dlt.destination`) that
posts each batch of rows as one JSON request with dlt's retrying `requests` client. dlt records in
the load package how many rows each batch delivered, so a load that stops half-way resumes with the
first batch the endpoint did not accept: no batch is posted twice.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # dlt is imported when a sync makes its destination, not when the definitions load.
    from dlt.common.destination import Destination

HTTP_BATCH_SIZE = 100
"""Rows per HTTP request."""


def postgres_destination(url: str) -> Destination:
    """dlt's PostgreSQL destination at `url` (`postgresql://user:password@host:port/database`)."""
    import dlt

    return dlt.destinations.postgres(credentials=url)


def _json_value(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        # amounts have 2 decimals: a double prints them back exactly
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"Cannot send {type(value).__name__} as JSON: {value!r}")


def batch_body(sync: str, table: str, rows: list[dict[str, Any]]) -> bytes:
    """The JSON document of one batch: `{"sync", "table", "rows": [...]}`, dates as ISO strings."""
    return json.dumps({"sync": sync, "table": table, "rows": rows}, default=_json_value, sort_keys=True).encode()


def http_destination(url: str, sync: str, attempts: int, retry_wait: float, timeout: float = 30.0) -> Destination:
    """A dlt destination posting batches of rows to `url`, as JSON (see `batch_body`).

    Each request is retried by dlt's `requests` client on a connection error, a timeout, 429 or any
    5xx, up to `attempts` times with exponential waits from `retry_wait` seconds. Another 4xx, or a
    redirect (never followed, so the batch cannot be sent elsewhere), fails the load for good: dlt
    drops the package and the next sync plans its rows again. Each request carries an
    `Idempotency-Key` header, the SHA-256 of its body, so a receiver can drop a batch it has already
    accepted if a response was lost on the way back.
    """
    import dlt
    from dlt.common.destination.exceptions import DestinationTerminalException
    from dlt.sources.helpers.requests import Client, HTTPError

    client = Client(
        request_timeout=timeout,
        request_max_attempts=attempts,
        request_backoff_factor=retry_wait,
        request_max_retry_delay=max(retry_wait * 8, retry_wait),
    )

    def post_batch(items: Any, table: dict) -> None:
        body = batch_body(sync, table["name"], items.to_pylist())
        headers = {"Content-Type": "application/json", "Idempotency-Key": hashlib.sha256(body).hexdigest()}
        try:
            response = client.post(url, data=body, headers=headers, allow_redirects=False)
        except HTTPError as error:
            status = error.response.status_code if error.response is not None else None
            if status is not None and 400 <= status < 500 and status != 429:
                raise DestinationTerminalException(f"The endpoint refused a batch: HTTP {status}") from error
            raise
        if response.is_redirect:
            raise DestinationTerminalException(f"The endpoint answered a redirect (HTTP {response.status_code}), not followed")

    factory = dlt.destination(post_batch, batch_size=HTTP_BATCH_SIZE, name="http_batch_api", loader_file_format="parquet")
    return factory()
