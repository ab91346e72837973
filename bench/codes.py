"""Pools of procedure codes shaped like the ones NCCI pairs up.

Real PTP tables pair CPT codes (numeric 00100-99499, Category III `0591T`, lab
`0001U`, vaccine administration `0001A`) with each other and with HCPCS Level II
codes (a letter and four digits); a few codes head thousands of edits, most a handful.
"""

from __future__ import annotations

import numpy as np

#: HCPCS Level II letters that appear in NCCI edits.
HCPCS_LETTERS = "ACEGJLPQ"


def procedure_codes(rng: np.random.Generator) -> np.ndarray:
    """About 13,000 distinct 5-character codes, as a sorted array of Python strings."""
    numeric = rng.choice(np.arange(100, 99500), size=9_000, replace=False)
    codes = [f"{n:05d}" for n in numeric]
    codes += [f"{n:04d}T" for n in rng.choice(np.arange(42, 901), size=600, replace=False)]
    codes += [f"{n:04d}U" for n in rng.choice(np.arange(1, 450), size=400, replace=False)]
    codes += [f"{n:04d}A" for n in range(1, 175)]
    for letter in HCPCS_LETTERS:
        codes += [f"{letter}{n:04d}" for n in rng.choice(np.arange(1, 10_000), 350, replace=False)]
    return np.array(sorted(set(codes)), dtype=object)


def skewed_weights(rng: np.random.Generator, n: int, exponent: float = 1.1) -> np.ndarray:
    """Zipf-like popularity in a random order: a few codes in many edits, most in few."""
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    rng.shuffle(weights)
    return weights / weights.sum()
