"""Which rows each cross-validation model holds out: a fold id per row, from the row itself.

k-fold assignment must not depend on how the rows are partitioned, ordered or
cached, nor on the machine: a fold is a function of the row's values. Each row
gets a 64-bit key, the sum (mod 2⁶⁴) of a mixed hash of every non-zero
feature value with its column, of the label and of the weight; then

    fold = mix(key ⊕ mix(seed)) mod k

with ``mix`` SplitMix64's finalizer. Integer sums are exact and order-free, so
the key is the same however the row is stored: dense or sparse (a zero adds
nothing, ``−0.0`` counts as zero), in any column-major or row-major layout.
Identical rows share a key and a fold, so a duplicated row is never on both
sides of a split. A single split (``validation_fraction``) puts the row in
fold 0 (held out) when ``u < fraction``, ``u`` the top 53 bits of the same mixed
value as a number in [0, 1), else in fold 1.

The features hashed are the float64 values read from the input, before any
narrowing for the cache (``solver.dtype``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_LABEL = np.uint64(0x6C8E9CF570932BD5)
_WEIGHT = np.uint64(0xB492B66FBE98F273)


def mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer, elementwise on uint64 (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _value_hashes(values: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """The hash of each non-zero float64 value in its column (one per value, or one for all); 0 for zeros."""
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)
    with np.errstate(over="ignore"):
        salt = mix((columns.astype(np.uint64) + np.uint64(1)) * _GOLDEN)
    return np.where(values != 0.0, mix(bits ^ salt), np.uint64(0))


def row_keys(X: np.ndarray | sparse.csr_array, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Each row's 64-bit key (the module docstring): the same for a row held dense or sparse."""
    with np.errstate(over="ignore"):
        keys = mix(np.ascontiguousarray(y, dtype=np.float64).view(np.uint64) ^ _LABEL)
        keys += mix(np.ascontiguousarray(w, dtype=np.float64).view(np.uint64) ^ _WEIGHT)
        if isinstance(X, np.ndarray):
            for j in range(X.shape[1]):
                keys += _value_hashes(X[:, j], np.array([j]))  # one salt for the column
        else:
            running = np.concatenate([[np.uint64(0)], np.cumsum(_value_hashes(X.data, X.indices), dtype=np.uint64)])
            keys += running[X.indptr[1:]] - running[X.indptr[:-1]]
    return keys


@dataclass(frozen=True)
class FoldRule:
    """How rows are split: ``folds`` hashed folds, or a single split holding out about
    ``validation_fraction`` of the rows (``folds`` = 0), or the user's own fold ids
    (``column``: read from the input, not computed here)."""

    folds: int = 0
    validation_fraction: float = 0.0
    seed: int = 0
    column: str = ""

    def assign(self, X: np.ndarray | sparse.csr_array, y: np.ndarray, w: np.ndarray) -> np.ndarray:
        """The fold id of each row (int64), from its values."""
        mixed = mix(row_keys(X, y, w) ^ mix(np.array([self.seed], dtype=np.uint64)))
        if self.folds:
            return (mixed % np.uint64(self.folds)).astype(np.int64)
        uniform = (mixed >> np.uint64(11)).astype(np.float64) * 2.0**-53
        return np.where(uniform < self.validation_fraction, 0, 1).astype(np.int64)

    def held_out(self, present: list[int]) -> list[int]:
        """The folds that are held out in turn, given the fold ids ``present`` in the data: all of
        them for k-fold and the user's folds, only fold 0 for a single split."""
        return [0] if not (self.folds or self.column) else sorted(present)
