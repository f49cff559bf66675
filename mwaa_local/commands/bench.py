from mwaa_local import benchmarks

NAME = "bench"
HELP = "Run a benchmark and print its numbers: " + ", ".join(benchmarks.describe())


def add_arguments(parser):
    choices = benchmarks.describe()
    parser.add_argument("benchmark", choices=sorted(choices),
                        help="; ".join(f"{name}: {text}" for name, text in choices.items()))
    parser.set_defaults(accepts_extra=True)  # the rest goes to the benchmark (e.g. --dags-folder)


def run(args) -> int:
    return benchmarks.available()[args.benchmark](list(args.extra))
