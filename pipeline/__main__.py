"""`python -m pipeline` is the `codeset` command."""

from pipeline.cli import main

main()
