"""Evaluation of the models against labeled data; figures printed as JSON."""
