"""`python -m softbench.cli`: the same entry point as the `softbench` script."""

from softbench.cli.app import main

main()
