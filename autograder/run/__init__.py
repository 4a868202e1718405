"""Run many submissions: a local pool or a Dask cluster; the coordinator records."""
