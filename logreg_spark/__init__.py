"""Distributed full-batch logistic regression on Apache Spark."""

__version__ = "0.1.0"
