"""Command line: parse, call, report. One module per subcommand (``cmd_<name>.py``)."""
