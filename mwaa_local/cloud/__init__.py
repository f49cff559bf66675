"""The local cloud: one process that serves the AWS APIs this project uses.

What must really execute (Redshift Data API, Glue jobs and crawlers, SageMaker jobs, MWAA) is served by our own
services; everything else passes through to moto's server running in the same process.
"""
