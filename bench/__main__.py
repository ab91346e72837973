"""`python -m bench` (`make bench`): see `bench.runner`."""

from bench.runner import main

main()
