"""`python -m softbench ...` runs the same command line as the `softbench` script."""

from softbench.cli import main

if __name__ == "__main__":
    main()
