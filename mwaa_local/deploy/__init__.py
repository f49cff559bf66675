"""Deploying this repository to an MWAA environment, one small module per job:

  config.py      the environments of include/config/deploy.yaml
  tree.py        the deployable tree of a checkout, and content hashes of its parts
  validate.py    DAG integrity, test-requirements and package, each cached by the content hash of what it reads
  integrity_cache.py  DAG integrity parsing only the files whose content changed; every rule applied to all
  plan.py        what must change in the bucket (content hashes) and in the environment (object versions)
  deployer.py    `deploy`: bucket checks, validate, upload, UpdateEnvironment with the changed versions, wait
  trigger.py     a DAG run through MWAA's InvokeRestApi (`trigger --env`)
  clients.py     boto3 clients for an environment (the local cloud, or AWS through the SDK's credential chain)
"""
