"""The model family: the one object that knows binomial from multinomial.

- **binomial**: one margin per row, the log-odds of label 1,
  ``z = βᵀx + b``; coefficients (d,), one intercept (:mod:`.binomial`).
- **multinomial** of K classes: one margin per class, ``zₖ = βₖᵀx + bₖ``;
  coefficients (K, d), K intercepts (:mod:`.multinomial`).

Everything else (the pass's layout, the objective, the model directory,
scoring) asks the family instead of looking at array shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import sparse

from . import binomial, multinomial
from .bounds import Bounds


@dataclass(frozen=True)
class Family:
    """``binomial`` (two classes, one margin) or ``multinomial`` of ``classes`` margins."""

    name: Literal["binomial", "multinomial"]
    classes: int

    @classmethod
    def multinomial(cls, classes: int) -> Family:
        if classes < 2:
            raise ValueError(f"a multinomial model needs two classes or more, not {classes}")
        return cls("multinomial", classes)

    @property
    def is_multinomial(self) -> bool:
        return self.name == "multinomial"

    @property
    def n_margins(self) -> int:
        """Margins per row: 1 (binomial) or K."""
        return self.classes if self.is_multinomial else 1

    def rows(self, flat: np.ndarray) -> np.ndarray:
        """A flat vector of every margin's values → (d,) for binomial, (K, d) for multinomial."""
        return flat.reshape(self.classes, -1) if self.is_multinomial else flat

    def row_terms(
        self, Z: np.ndarray, y: np.ndarray, w: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per row of the margins ``Z`` (n × margins), weighted ``w``: (log loss, w ∂ℓ/∂z (n ×
        margins), whether misclassified, what :meth:`curvature` needs); see
        :func:`.binomial.row_terms` and :func:`.multinomial.row_terms`."""
        math = multinomial if self.is_multinomial else binomial
        return math.row_terms(Z, y, w)

    def curvature(
        self, X: np.ndarray | sparse.csr_array, w: np.ndarray, terms: np.ndarray, hessian: bool, diagonal: bool
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(Hessian, sums of its diagonal) of rows weighted ``w``, from :meth:`row_terms`' last
        item; each only when asked."""
        math = multinomial if self.is_multinomial else binomial
        return math.curvature(X, w, terms, hessian, diagonal)

    def prior(self, class_weight: np.ndarray, d: int) -> tuple[np.ndarray, float | np.ndarray]:
        """The intercept-only model of classes weighing ``class_weight``: zero coefficients and the
        log-odds of the classes (K classes: centred log weights, as MLlib), the optimum of the
        unpenalized loss with zero coefficients."""
        log_weight = np.log(class_weight[: self.classes])
        if self.is_multinomial:
            return np.zeros((self.classes, d)), log_weight - log_weight.mean()
        return np.zeros(d), float(log_weight[1] - log_weight[0])

    def probabilities(self, margin: np.ndarray) -> np.ndarray:
        """P(label 1) for binomial margins (n,); the (n × K) class probabilities for class margins."""
        if self.is_multinomial:
            return np.exp(multinomial.log_softmax(margin))
        return binomial.softplus_and_sigmoid(margin)[1]

    def row_log_loss(self, margin: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``−log P(y)`` per row, exact for any margin."""
        if self.is_multinomial:
            return -multinomial.log_softmax(margin)[np.arange(len(y)), y.astype(np.intp)]
        return binomial.softplus_and_sigmoid((1.0 - 2.0 * y) * margin)[0]

    def identifiable(
        self, coef: np.ndarray, intercept: float | np.ndarray, penalized: bool, bounds: Bounds | None = None
    ) -> tuple[np.ndarray, float | np.ndarray]:
        """The reported form of a fitted model: MLlib's convention for the freedom the softmax
        leaves, as near it as ``bounds`` allow (:func:`.multinomial.identifiable`); a binomial
        model has none."""
        if self.is_multinomial:
            return multinomial.identifiable(coef, np.asarray(intercept), penalized, bounds)
        return coef, intercept

    def described(self) -> str:
        """``binomial`` or ``multinomial, K classes``, for messages."""
        return f"multinomial, {self.classes} classes" if self.is_multinomial else "binomial"


#: The binomial family (labels 0 and 1).
BINOMIAL = Family("binomial", 2)
