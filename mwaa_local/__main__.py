from mwaa_local.cli import main

raise SystemExit(main())
