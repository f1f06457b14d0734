"""The math: what one pass computes and the objective built from it. NumPy and SciPy only.

``binomial`` and ``multinomial`` (the two families' per-block sums), ``sums``
(the flat vector a pass returns), ``data`` (blocks of rows and their
statistics), ``penalty`` (elastic net), ``scaling`` (the solver's
coordinates), ``objective`` (loss, gradient, Hessian at a point),
``inference`` (standard errors), ``metrics`` (evaluation sums).
"""
