"""Tuning: a regularization path × cross-validation folds, every model advanced by the same passes.

:mod:`.grid` makes the (λ, α) grid; :mod:`.batching` runs many solvers with their
passes batched into one shared pass; :mod:`.chains` walks one (α, fold) down its
λ path; :mod:`.search` runs every chain, scores each (λ, α) and picks the best.
"""
