import dagster as dg

from jump_platform.defs.sources.assets import demo_extracts, load_sources

defs = dg.Definitions(assets=[demo_extracts, load_sources])
