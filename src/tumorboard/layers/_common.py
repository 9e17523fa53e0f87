"""Small helpers shared by the layer modules."""

from __future__ import annotations

import pandas as pd


def sample_column(frame: pd.DataFrame, what: str) -> str:
    """The column naming the sample in a store table (``sample_id``, or ``sample``).

    Raises
    ------
    ValueError
        If neither exists in a non-empty table (a caller error: store tables carry
        ``sample_id``).
    """
    for col in ("sample_id", "sample"):
        if col in frame.columns:
            return col
    if frame.empty:
        return "sample_id"
    raise ValueError(f"{what} table needs a 'sample_id' column (as the store returns it)")


def int_list(values: pd.Series) -> list[int | None]:
    """Python ints (None where missing) of an integer column, for provenance records.

    Vectorised: converting element by element with ``pd.isna`` costs seconds on the millions
    of rows of a whole cohort.
    """
    ints = values.to_numpy(dtype="int64", na_value=0).astype(object)
    ints[values.isna().to_numpy()] = None
    return ints.tolist()
