"""What comes in: submitted notebooks found under folders and zips (collect), named as an LMS names
its downloads (lms)."""
