#!/bin/sh
# MWAA startup script: runs on every scheduler, worker and web server before Airflow starts (5-minute limit).
# Exported variables reach Airflow; MWAA ignores attempts to override the variables it protects.
# Locally, ./mwaa-local runs this file with the same rules.

# Which block of include/config/platform.yaml the DAGs read.
export PLATFORM_ENV="${PLATFORM_ENV:-production}"
