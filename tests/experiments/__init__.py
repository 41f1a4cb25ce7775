"""Tests of vaebook.experiments (a package: its basenames repeat those of tests/)."""
