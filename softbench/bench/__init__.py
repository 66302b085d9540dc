"""Measurement: suites and sizes, the sampling loop, verification, baselines, profiles, the run."""
