"""`./mwaa-local login-url --env NAME`: a one-time Airflow UI login URL from MWAA's CreateWebLoginToken."""

from mwaa_local import arguments as _args

NAME = "login-url"
HELP = "Print a login URL for the Airflow UI of an environment of include/config/deploy.yaml (CreateWebLoginToken)."


def add_arguments(parser):
    parser.add_argument("--env", required=True, help="an environment of include/config/deploy.yaml (e.g. local)")
    parser.add_argument("--port", type=_args.port, default=4566, help="the local cloud's port (local environments)")
    parser.add_argument("--config", type=_args.input_file, default=None,
                        help="the deploy configuration (default include/config/deploy.yaml)")


def run(args) -> int:
    from mwaa_local.cloud.mwaa import airflow_link
    from mwaa_local.deploy import clients, config
    from mwaa_local.errors import UserError

    target = config.load(args.env, args.config or config.CONFIG_FILE)
    mwaa = clients.factory(target, args.port)("mwaa")
    try:
        token = mwaa.create_web_login_token(Name=target.environment)
    except mwaa.exceptions.ResourceNotFoundException:
        raise UserError(f"no MWAA environment {target.environment} in {target.region}") from None
    host = token["WebServerHostname"]
    if target.local_cloud:
        # The local Airflow has no MWAA console sign-on: it takes the admin login `up` made.
        print(f"http://{host}/")
        print(f"user admin, password in {airflow_link.runtime_dir() / 'passwords.json'} "
              "(the local Airflow runs while `./mwaa-local up` does)")
        return 0
    print(f"https://{host}/aws_mwaa/aws-console-sso?login=true#{token['WebToken']}")
    print("valid for 60 seconds, for one login")
    return 0
