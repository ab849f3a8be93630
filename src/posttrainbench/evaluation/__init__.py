"""The pristine evaluator: one module per benchmark on Inspect AI, backends, judges and scoring (the trial's
evaluate stage runs it down the token ladder).

Importing this package is cheap; Inspect, torch and transformers load only when an evaluation runs.
"""
