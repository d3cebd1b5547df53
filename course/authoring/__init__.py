"""The instructor's and the student's tools around the notebooks: release, validate before
submitting, calibrate the MNIST thresholds, and the lesson's shorts quoted by feedback."""
