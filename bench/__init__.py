"""``make bench``: performance benchmarks, one module per subject (``matcher`` today).

Outside ``services/`` because they measure the services rather than belong to them; see
``bench/__main__.py`` for how a benchmark is added and what it writes.
"""
