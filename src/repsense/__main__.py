import sys

from repsense.cli.main import main

sys.exit(main())
