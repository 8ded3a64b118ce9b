"""`python -m tracker.cli` runs the same command as the `tracker` script (tests and benchmarks use it)."""

from tracker.cli import main

main()
