"""`lava-worker`: asks the server for jobs, runs each with `lava-run`, ships its log back."""
