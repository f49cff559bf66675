"""Glue Python shell job: curate one data interval of the retail raw extracts.

Arguments: --data_bucket B --tables customers,products,orders,order_items --dt YYYY-MM-DD
The logic lives in retail_curation.py, shipped with --extra-py-files.
"""

import sys

import retail_curation

try:
    from awsglue.utils import getResolvedOptions
except ImportError:  # outside Glue and without the local shim: same semantics from our library
    getResolvedOptions = retail_curation.resolve_args  # noqa: N816 - mirrors the Glue name

if __name__ == "__main__":
    retail_curation.run_job(getResolvedOptions(sys.argv, retail_curation.JOB_ARGS))
