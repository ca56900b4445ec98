import sys

try:
    from repsense.cli.main import main
except KeyboardInterrupt:  # Ctrl-C while Python is still importing: stop as the CLI would
    print("interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
