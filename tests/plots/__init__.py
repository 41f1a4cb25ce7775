"""Tests of vaebook.plots, one module per plot module (tests/plots/test_<module>.py)."""
