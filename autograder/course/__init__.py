"""The course itself: source notebooks, templated cells, the student release, reference solutions."""
