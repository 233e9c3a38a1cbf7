"""Helpers of the task functions: instantiation, checkpoints, runtime settings."""
