"""nbgrader's config for this course folder, for grading with stock `nbgrader autograde`
(README: "Grading with stock nbgrader"). `course` itself never reads it."""
c = get_config()  # noqa: F821  (nbgrader provides it)

c.CourseDirectory.course_id = "pytorch-day5"
# Each source notebook's jupytext text (source/<a>/<nb>.py) holds the solutions: never copied into a
# release or a student's autograded folder (nbgrader copies every other file of the assignment folder).
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.py"]
# A notebook runs as under `course grade`: its grading parameters (course.toml) and DATA_DIR (the
# shared MNIST of COURSE_DATA_DIR) in a cell inserted after the cell tagged `parameters`, so 03's own
# experiment takes seconds. Then nbgrader's own steps.
c.Autograde.autograde_preprocessors = [
    "course.nbgrader_bridge.GradingParameters",
    "nbgrader.preprocessors.Execute",
    "course.nbgrader_bridge.WarningsAreNotFailures",  # a warning on stderr is not a failed test cell
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# 03's hidden checks train the lesson's MLP on the grader's budget in the student's kernel; the first
# test cell that needs them runs them all (each once per notebook). nbgrader's default (30 s) would fail it.
c.Execute.timeout = 180

# Feedback pages never show a test cell's hidden section (its `_hidden_check(...)` line): stock
# generate_feedback shows the autograded source as it ran, and a failed self-check's traceback quotes
# the lines after the failing one; both are removed first.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "course.nbgrader_bridge.HiddenLinesInTracebacks",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
