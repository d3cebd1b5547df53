"""The instructor's tool for the Day 5 course: release assignments and grade submissions."""
