"""The province-scale benchmark (issue 5, item 6); not part of the test suite.

`make bench`, or `.venv/bin/python -m bench.run [--database gridlink_synthetic]
[--only a,b,c,d]`: builds the synthetic province (`gridlink seed synthetic`) if
its database is missing, then measures and prints ratios. See bench/RESULTS.md.
"""
