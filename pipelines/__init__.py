"""The nightly job and its command line: run sources → summary (models and checks join later)."""
