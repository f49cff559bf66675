"""Glue in the local cloud: job runs that execute their script, and crawlers that fill the Data Catalog.

Job and crawler *definitions* and the Data Catalog API stay moto's; runs and crawls are ours (see responses.py).
"""
