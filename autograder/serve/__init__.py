"""`autograder serve`: the on-disk job queue and the service that grades and releases feedback."""
