"""Analysis: pure functions from records to tables of numbers (comparisons, summaries, crossovers, tuning)."""
