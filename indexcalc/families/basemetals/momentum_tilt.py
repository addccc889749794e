"""Composite momentum score per root and the momentum tilt of basket weights (base-metals basket).

Signals of each root's excess-return level ``L`` (docs/design.md section 2), each in [-1, 1]:

- EMA: ``sign(L_t - EMA_t)``, ``EMA_t = a L_t + (1 - a) EMA_{t-1}``, ``a = 2 / (span + 1)``,
  seeded with the first level;
- RSI (Wilder): ``RSI_t = 100 * G_t / (G_t + D_t)`` with ``G``, ``D`` the Wilder averages
  (``a = 1 / window``, seeded with the first change) of daily gains and losses of ``L``;
  signal ``(RSI_t - 50) / 50`` (0 when the level has not moved at all);
- ROC: ``sign(L_t / L_{t-window} - 1)``.

Composite score ``s = (ema + rsi + roc) / 3`` in [-1, 1]. The tilt moves each base weight by at
most ``fraction`` of itself before renormalising:
``w_i' = w_i (1 + fraction * s_i) / sum_j w_j (1 + fraction * s_j)``.
"""

from __future__ import annotations

import numpy as np
import polars as pl


def momentum_scores(levels: pl.DataFrame, ema_span: int, rsi_window: int, roc_window: int) -> pl.DataFrame:
    """``date, root, level`` -> ``date, root, ema_signal, rsi, rsi_signal, roc, roc_signal, momentum``.

    Computed per root over its rows in date order; ``roc`` is null for the first ``roc_window``
    rows of a root, and so is ``momentum`` (no score without every signal).
    """
    level = pl.col("level")
    change = level.diff()
    gain = change.clip(lower_bound=0.0)
    loss = (-change).clip(lower_bound=0.0)
    wilder = {"alpha": 1.0 / rsi_window, "adjust": False, "ignore_nulls": True}
    frame = (
        levels.select("date", "root", "level")
        .sort("root", "date")
        .with_columns(
            (level - level.ewm_mean(span=ema_span, adjust=False)).sign().over("root").alias("ema_signal"),
            gain.ewm_mean(**wilder).over("root").alias("average_gain"),
            loss.ewm_mean(**wilder).over("root").alias("average_loss"),
            (level / level.shift(roc_window) - 1.0).over("root").alias("roc"),
        )
    )
    moves = pl.col("average_gain") + pl.col("average_loss")
    rsi = pl.when(moves > 0.0).then(100.0 * pl.col("average_gain") / moves).otherwise(50.0)
    return (
        frame.with_columns(rsi.alias("rsi"), pl.col("roc").sign().alias("roc_signal"))
        .with_columns(((pl.col("rsi") - 50.0) / 50.0).alias("rsi_signal"))
        .with_columns(((pl.col("ema_signal") + pl.col("rsi_signal") + pl.col("roc_signal")) / 3.0).alias("momentum"))
        .select("date", "root", "ema_signal", "rsi", "rsi_signal", "roc", "roc_signal", "momentum")
    )


def apply_tilt(weights: np.ndarray, scores: np.ndarray, fraction: float) -> np.ndarray:
    """``w_i' = w_i (1 + fraction * s_i) / sum_j w_j (1 + fraction * s_j)`` along the last axis.

    ``scores`` in [-1, 1] and ``fraction`` < 1 keep every tilted weight positive.
    """
    tilted = np.asarray(weights, dtype=float) * (1.0 + fraction * np.asarray(scores, dtype=float))
    return tilted / tilted.sum(axis=-1, keepdims=True)
