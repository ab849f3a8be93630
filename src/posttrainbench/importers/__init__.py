"""Importers: results of other harnesses, turned into this project's results and baselines."""
