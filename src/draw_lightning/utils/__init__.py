"""Process-level helpers of the task functions: instantiation of config groups, runtime settings."""
