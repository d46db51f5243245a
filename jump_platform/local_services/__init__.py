"""Throwaway local services for laptops and tests: a PostgreSQL cluster (`make postgres`)."""
