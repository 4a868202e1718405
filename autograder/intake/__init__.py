"""Submissions in: folders, zips, LMS downloads and nbgrader's exchange, matched to notebooks."""
