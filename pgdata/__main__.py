"""``python -m pgdata`` runs the CLI."""

from pgdata.cli import main

main()
