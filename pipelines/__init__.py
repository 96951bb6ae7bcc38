"""The nightly job and its command line: run the sources → record the run → summary → build the SQL models
and run their tests → publish the serving file for BI tools; plus dry-run checks, status, export, report."""
