"""Autograder for the recurrent-neural-network week: release, grade, record, report."""
__version__ = "0.1.0"
