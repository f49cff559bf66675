"""MWAA's bootstrap semantics and the local Airflow runtime, one small module per job, shared by `./mwaa-local up`,
`test-startup-script` and the compose services:

  protected.py        the variables a startup script may not override (MWAA's list) and why
  startup_script.py   startup.sh SOURCED by a bash wrapper under the time limit; its exports captured
  requirements.py     requirements.txt under MWAA's pins (constraints added when missing), checked and installed
  plugins.py          plugins.zip extracted into $AIRFLOW_HOME/plugins
  settings.py         the environment every Airflow component gets (MWAA's precedence)
  bootstrap.py        the above in MWAA's order, from the local MWAA bucket (dags/ pulled by bucket_sync.pull_dags)
  components.py       the Airflow processes, each in its own process group with a pid record
  api_client.py       the local REST API with a token (POST /auth/token)
  supervisor.py       `up`: start, wait until ready, keep the bucket in step with the tree, stop cleanly
  update_requests.py  how the local MWAA API's UpdateEnvironment asks the running `up` to bootstrap again
  container.py        the docker-compose services' entry point (same bootstrap, MWAA's /usr/local/airflow layout)
"""
