"""Run history and lineage: an embedded SQLite store (`store`), the cache key of an
execution (`cache_key`), and the `sluice runs` / `sluice lineage` views (`history`, `lineage`)."""
