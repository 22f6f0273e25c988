"""``make bench``: run every benchmark, print its table, write its results file."""

from __future__ import annotations

from bench import suite

if __name__ == "__main__":
    suite.main()
