"""Fitting a model from a conf: preparation, solver choice and run, warm starts."""
