"""A wide sparse block's own columns: a pass over it costs what its non-zeros cost, not d.

A CSR block of n rows over d features whose rows use only k of the columns
needs, at a point, only the k coefficients of those columns, and adds to only k
entries of each margin's gradient (and of the Hessian diagonal's sums). Its
pass (:func:`add_block_sums`) therefore works in the block's own columns: the
requests' coefficients gathered into k-wide requests, the sums computed on an
n × k matrix that shares the block's values and row pointers (its column indices
renumbered once, at preparation: :meth:`OwnColumns.of`), and the k-wide sums
added at their positions in the d-wide flat vector (:func:`positions`). No
d-sized array is made per block.

The sums are those of the full-width block bit for bit: a CSR product visits
each row's non-zeros in stored order, and the transposed one each column's rows
in row order, whatever the columns are numbered; an entry the block does not
touch gains exactly 0 either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from .sums import HELD_OUT_SIZE, Features, Layout, Request, shared_block_sums, shared_size

if TYPE_CHECKING:
    from .data import Block

#: A block keeps its own columns when its rows use at most this share of them: beyond it, the
#: gather and scatter of k entries cost about what the d-sized steps they replace cost.
MAX_SHARE = 0.5


@dataclass(frozen=True)
class OwnColumns:
    """The columns a CSR block's rows use (ascending) and its column indices renumbered into them."""

    columns: np.ndarray
    indices: np.ndarray

    @classmethod
    def of(cls, X: Features) -> OwnColumns | None:
        """``X``'s own columns; None for a dense ``X``, one whose rows use over :data:`MAX_SHARE` of
        them, or none at all (rows of empty vectors: the full-width pass has nothing to skip then)."""
        if isinstance(X, np.ndarray):
            return None
        columns, indices = np.unique(X.indices, return_inverse=True)
        if not 0 < columns.size <= MAX_SHARE * X.shape[1]:
            return None
        return cls(columns.astype(X.indices.dtype), indices.astype(X.indices.dtype))

    def narrowed(self, X: sparse.csr_array) -> sparse.csr_array:
        """``X`` (the block's n × d matrix) as n × k in its own columns, sharing its values and row pointers."""
        return sparse.csr_array((X.data, self.indices, X.indptr), shape=(X.shape[0], self.columns.size))


def _layout_positions(layout: Layout, columns: np.ndarray) -> np.ndarray:
    """For each entry of the flat sums laid out for the k features ``columns`` (the same family
    and parts as ``layout``), its position in ``layout``'s: head as is; each margin's gradient
    at its features' places, intercept last; the Hessian at both parameters' places; each margin's
    diagonal sums ``[Σ v x² (d), Σ v x (d), Σ v]`` at its features' places in both halves."""
    d, k, m = layout.n_features, columns.size, layout.family.n_margins
    head = layout.size - layout.n_params - layout.hessian_size - layout.diagonal_size
    params = (np.arange(m)[:, None] * (d + 1) + np.append(columns, d)).ravel()  # the k-wide parameters' places
    parts = [np.arange(head), head + params]
    if layout.hessian:
        parts.append(head + layout.n_params + (params[:, None] * layout.n_params + params).ravel())
    if layout.diagonal:
        per_margin = np.concatenate([columns, d + columns, [2 * d]])
        start = head + layout.n_params + layout.hessian_size
        parts.append(start + (np.arange(m)[:, None] * (2 * d + 1) + per_margin).ravel())
    found = np.concatenate(parts)
    assert found.size == replace(layout, n_features=k).size, "one position per entry of the k-wide layout"
    return found


def positions(requests: Sequence[Request], columns: np.ndarray) -> np.ndarray:
    """Where each entry of the shared flat sums of ``requests`` narrowed to ``columns`` goes in
    the shared flat sums of ``requests`` (each request's layout, then its held-out sums)."""
    parts, start = [], 0
    for request in requests:
        parts.append(start + _layout_positions(request.layout, columns))
        parts.append(start + request.layout.size + np.arange(HELD_OUT_SIZE))
        start += request.size
    return np.concatenate(parts)


def narrowed_requests(requests: Sequence[Request], columns: np.ndarray) -> list[Request]:
    """The requests with only the coefficients of ``columns``, laid out for those k features."""
    out = []
    for request in requests:
        d = request.layout.n_features
        coef = np.reshape(request.coef, (-1, d))[:, columns]
        layout = replace(request.layout, n_features=columns.size)
        out.append(replace(request, coef=coef if np.ndim(request.coef) == 2 else coef[0], layout=layout))
    return out


def add_block_sums(acc: np.ndarray | None, block: Block, w: np.ndarray, requests: Sequence[Request]) -> np.ndarray:
    """``acc`` (None: nothing yet) plus the block's shared flat sums of ``requests`` with row
    weights ``w``, in its own columns when it has them."""
    own = block.own
    if own is None:
        sums = shared_block_sums(block.X, block.y, w, block.fold, requests, block.offset)
        if acc is None:
            return sums
        acc += sums
        return acc
    narrow = narrowed_requests(requests, own.columns)
    sums = shared_block_sums(own.narrowed(block.X), block.y, w, block.fold, narrow, block.offset)
    if acc is None:
        acc = np.zeros(shared_size(requests))
    acc[positions(requests, own.columns)] += sums  # positions are distinct: a plain scatter-add
    return acc
