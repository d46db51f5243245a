"""The clients of the Jump app."""

from __future__ import annotations

import numpy as np
import polars as pl

from jump_platform.sources.generator.encoding import counter_ids
from jump_platform.sources.generator.params import GeneratorParams, stream_rng
from jump_platform.sources.generator.pools import Pools


def generate_clients(params: GeneratorParams, pools: Pools) -> pl.DataFrame:
    """Clients; about one in ten repeats an earlier client's name under a new id (entered twice)."""
    rng = stream_rng(params, "clients")
    n = params.n_clients
    pool = pools.companies.gather(rng.permutation(pools.companies.len()))
    # Past the pool's size, names repeat with a number: "Acme", ..., "Acme 2", ...
    rounds = pl.Series(np.arange(n) // pool.len())
    names = (
        pl.DataFrame({"name": pool.gather(np.arange(n) % pool.len()), "round": rounds})
        .select(
            pl.concat_str("name", pl.when(pl.col("round") > 0).then(pl.format(" {}", pl.col("round") + 1)).otherwise(pl.lit("")))
        )
        .to_series()
    )
    duplicated = rng.random(n) < 0.08
    duplicated[0] = False
    duplicated[min(n - 1, 1)] = n > 2  # at least one duplicate whenever there are clients enough
    earlier = np.floor(rng.random(n) * np.arange(n)).astype(np.int64)
    return pl.DataFrame(
        {
            "id": counter_ids(params, "clients", np.arange(n)),
            "name": names.gather(np.where(duplicated, earlier, np.arange(n))),
        }
    )
