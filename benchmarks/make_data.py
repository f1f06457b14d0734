"""Write synthetic benchmark data as Parquet.

    python benchmarks/make_data.py OUT --rows 2000000 --features 50 [--seed 0] [--condition 10]
                                       [--positive-rate 0.3] [--files 16] [--nonzeros K]

With ``--nonzeros K`` the features are one sparse Spark ML Vector column
``features`` of size ``--features`` with about K non-zeros per row
(benchmarks/sparse_data.py); ``--condition`` then does not apply.
"""

from __future__ import annotations

import argparse

from sparse_data import write_sparse_classification
from synthetic import write_classification


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--condition", type=float, default=10.0, help="ratio of the largest to the smallest feature scale"
    )
    parser.add_argument("--positive-rate", type=float, default=0.3)
    parser.add_argument("--noise", type=float, default=1.0)
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument(
        "--nonzeros",
        type=int,
        default=0,
        help="write sparse vectors with about this many non-zeros per row (0: dense columns x0, x1, …)",
    )
    args = parser.parse_args()
    if args.nonzeros:
        write_sparse_classification(
            args.out,
            args.rows,
            args.features,
            args.nonzeros,
            files=args.files,
            seed=args.seed,
            positive_rate=args.positive_rate,
            noise=args.noise,
        )
    else:
        write_classification(
            args.out,
            args.rows,
            args.features,
            files=args.files,
            seed=args.seed,
            condition=args.condition,
            positive_rate=args.positive_rate,
            noise=args.noise,
        )


if __name__ == "__main__":
    main()
