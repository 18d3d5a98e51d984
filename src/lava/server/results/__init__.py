"""The results app: test suites, sets and cases, derived from each job's log."""
