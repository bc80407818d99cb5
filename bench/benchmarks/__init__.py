"""benchmarks - one module per benchmark; bench.py finds them here (see bench/README.md)."""
