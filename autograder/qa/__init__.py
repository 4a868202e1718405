"""Quality of the course: validation with mutants, calibration, sample submissions."""
