"""Grading beyond one machine's pool: a Gradescope autograder bundle (bundle, gradescope) and Dask
distributed workers (cluster), all running the same engine."""
