"""Head-to-head under many users: stgo, Streamlit and NiceGUI (and a floor) on the same
scenarios, in turns within one run (``python -m bench.users``; docs/benchmarks.md)."""
