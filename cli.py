"""Run the pgdata CLI from a checkout: ``python cli.py --help``."""

from pgdata.cli import main

if __name__ == "__main__":
    main()
