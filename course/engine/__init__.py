"""The grading engine, in the order a submission meets it: restore the locked cells (restore), scan
the code (integrity, scopes), run the notebook in a sandboxed kernel forked from a warm template
(execute, kernels, sandbox) while the probe records the answers, then judge the answers with the
hidden graders in a process that never runs student code (judge)."""
