"""Grade one submission: assemble, execute in a sandbox, judge."""
