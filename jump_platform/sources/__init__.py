"""Pure logic for the `sources` layer: table contracts, the demo generator and the landing zone.

Nothing in this package imports Dagster; the assets in `jump_platform.defs` wrap it.
"""
