"""What grading writes: per-submission results, feedback and gradebook (report, feedback), and what
an instructor reads about the class afterwards (classreport, similarity, export)."""
