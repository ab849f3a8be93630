"""The pristine evaluator: one module per benchmark on Inspect AI, backends, and the token ladder.

Importing this package is cheap; Inspect, torch and transformers load only when an evaluation runs.
"""
