"""The retail source database: a deterministic seeded generator (generate), dirt on demand (dirt), and the
PostgreSQL loader (load). `./mwaa-local seed-data` is the command line; the DAG tests use seed() directly."""
