"""Calibrated DNA methylation classifier for sarcomas (scikit-learn estimator API).

The workflow is that of the Heidelberg classifiers (Capper et al., *DNA methylation-based
classification of central nervous system tumours*, Nature 2018;555:469–474,
doi:10.1038/nature26000; Koelsche et al., *Sarcoma classification by DNA methylation
profiling*, Nat Commun 2021;12:498, doi:10.1038/s41467-020-20603-4):

1. drop the probes of the DKFZ exclusion lists (:func:`tumorboard.io.methylation.probe_filter`:
   not on EPIC, X/Y, SNP, ambiguous);
2. select informative CpGs on the training data only: the ``n_candidates`` (32,000) most
   variable probes (NaN ignored), then the ``n_features`` (10,000) with the largest one-way
   ANOVA F statistic between the classes. Capper et al. took the 32,000 most variable probes
   and ranked them by random-forest importance down to 10,000; the F statistic is a cheaper
   supervised ranking that serves both base models alike. Because it looks at the labels, it
   is repeated inside every internal calibration fold and every outer fold of
   :func:`nested_cross_validate`, so no test sample ever helps choose its own features
   (Maros et al. 2020 on selection bias);
3. fit a base model, get its out-of-fold scores by internal stratified K-fold, fit a
   ridge-penalised multinomial logistic regression on them (the calibrator Maros et al. found
   most effective regardless of the base model: *Machine learning workflows to estimate class
   probabilities for precision cancer diagnostics on DNA methylation microarray data*, Nat
   Protoc 2020;15:479–512, doi:10.1038/s41596-019-0251-6), then refit the base model on all
   training samples;
4. call a class when its calibrated score is ≥ 0.9 (the published rule), else "no match";
   fall back to a family call when a family's summed score reaches the threshold.

Base models:

``'linear'`` (default)
    One linear layer on binarised betas, after crossNN (Yuan et al., *crossNN is an
    explainable framework for cross-platform DNA methylation-based classification of tumors*,
    Nat Cancer 2025;6:1283–1294, doi:10.1038/s43018-025-00976-5), which tolerates sparse
    input (nanopore, panels). Betas are binarised softly around 0.5,
    ``tanh((beta - 0.5) / binarise_scale)``, and centred by the training mean of each CpG; a
    missing CpG then contributes 0 (the training mean), and the summed contribution is divided
    by the share of features present so the score keeps its scale. The soft step is ours:
    clear betas (and the 0/1 calls of nanopore reads) still map to ±1 as in crossNN, but the
    intermediate betas of low tumour-cell-content samples keep their side and distance from
    0.5 instead of being rounded. Each CpG is then scaled by the square root of its ANOVA F
    (capped at the 99th percentile), a per-CpG ridge penalty. On the simulated references of
    this session's tuning (docs/methylation.md) the soft step alone raised nested-CV accuracy
    in a hard setting from 0.715 to 0.81, and the F weights a few-CpG setting from 0.80 to
    1.00; ``binarise_scale`` 0.25 did best of 0.05–0.5 with the weights (0.1 without).
    ``binarise_scale=0`` is crossNN's hard step.
    Unlike crossNN (softmax layer trained by gradient descent with random feature masking),
    the layer is fitted in closed form by ridge-penalised least squares on one-hot targets
    (scikit-learn ``RidgeClassifier``); the calibrator turns its scores into probabilities.
``'rf'``
    The reference random forest (``RandomForestClassifier``, ``max_features='sqrt'``);
    scores are the forest's vote shares; missing betas are imputed with the training mean.
    Capper et al. used 10,000 trees; ``n_trees`` scales this to the machine.

Artifacts (:func:`save_model`, :func:`load_model`) are one ``.npz`` file of plain numpy arrays
read with ``allow_pickle=False`` plus a JSON metadata document inside it, so loading never
executes pickled code. Only the linear model is saveable: the random forest is the benchmark
reference, not the default.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.validation import check_is_fitted

from tumorboard.diagnosis.reference import family_of
from tumorboard.errors import InputError
from tumorboard.io.methylation import _EPICV2_SUFFIX, PROBE_FILTERS, probe_filter

#: Version of the artifact layout written by :func:`save_model`.
MODEL_FORMAT_VERSION = 2
NO_MATCH = "no match"
#: Score below which no class (or family) is called (Capper 2018; Koelsche 2021).
CALL_THRESHOLD = 0.9
_MISSING_CLASS_SCORE = -10.0

__all__ = ["MODEL_FORMAT_VERSION", "NO_MATCH", "MethylationClassifier", "anova_f", "brier_score",
           "family_of", "load_model", "log_loss", "nested_cross_validate", "save_model"]


def brier_score(y_true: Any, proba: np.ndarray, classes: Any) -> float:
    """Multiclass Brier score: mean over samples of ``sum_k (p_k - y_k)^2`` (range 0–2).

    The original definition of Brier (Mon Weather Rev 1950;78:1–3), as used by Maros et al.
    2020. Some reports divide by the number of classes; this one does not.
    """
    onehot = _onehot(y_true, classes)
    return float(np.mean(np.sum((np.asarray(proba, float) - onehot) ** 2, axis=1)))


def log_loss(y_true: Any, proba: np.ndarray, classes: Any, *, eps: float = 1e-15) -> float:
    """Mean negative log of the probability given to the true class (natural log), with
    probabilities clipped to ``[eps, 1]``."""
    onehot = _onehot(y_true, classes).astype(bool)
    p = np.clip(np.asarray(proba, float)[onehot], eps, 1.0)
    return float(-np.mean(np.log(p)))


def _onehot(y_true: Any, classes: Any) -> np.ndarray:
    classes = list(classes)
    pos = {c: i for i, c in enumerate(classes)}
    y = list(y_true)
    unknown = sorted({str(v) for v in y if v not in pos})
    if unknown:
        raise InputError(f"labels {', '.join(unknown[:5])} are not classes of the model")
    out = np.zeros((len(y), len(classes)))
    out[np.arange(len(y)), [pos[v] for v in y]] = 1.0
    return out


def _legacy_columns(X: pd.DataFrame) -> pd.DataFrame:
    """Strip EPIC v2 suffixes from probe ids and average replicate probes of one CpG."""
    cols = pd.Index(X.columns.astype(str))
    if not cols.str.contains(_EPICV2_SUFFIX, regex=True).any():
        return X
    legacy = cols.str.replace(_EPICV2_SUFFIX, "", regex=True)
    if legacy.is_unique:
        out = X.copy(deep=False)
        out.columns = legacy
        return out
    return X.T.groupby(legacy, sort=False).mean().T


def _check_betas(X: Any, what: str) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise InputError(f"{what} must be a samples x probes DataFrame of beta values, got "
                         f"{type(X).__name__}",
                         fix="pass a pandas DataFrame with probe ids as column names")
    return _legacy_columns(X)


class MethylationClassifier(ClassifierMixin, BaseEstimator):
    """Methylation class from beta values: filtered, selected CpGs → base model → ridge
    multinomial calibration (Capper 2018; Koelsche 2021; Maros 2020; module docstring).

    Parameters
    ----------
    model
        ``'linear'`` (crossNN-style linear layer on binarised betas) or ``'rf'`` (random
        forest reference).
    n_features
        CpGs kept after filtering, by largest training variance (Capper: 10,000).
    calibration
        ``'ridge'`` (multinomial logistic regression, L2, on out-of-fold base scores) or
        ``'none'`` (base probabilities: softmax of linear scores, or forest votes).
    cv_folds
        Internal folds for the out-of-fold scores the calibrator learns from.
    random_state
        Seed of the folds and the forest.
    min_feature_fraction
        Share of the selected features a sample must have (non-missing) to be classified.
    threshold
        Calibrated score needed for a class or family call.
    n_trees, n_jobs
        Random forest size and parallelism (``'rf'`` only).
    alpha
        Ridge penalty of the linear layer.
    binarise_scale
        Width of the soft binarisation of the linear model (0: hard step at 0.5).
    selection
        ``'anova'``: the ``n_candidates`` most variable CpGs, then the ``n_features`` with the
        largest one-way ANOVA F between classes (:func:`anova_f`); ``'variance'``: the
        ``n_features`` most variable.
    n_candidates
        Most variable CpGs kept before the supervised ranking (Capper: 32,000).
    weighting
        ``'anova'``: each encoded CpG of the linear model is scaled by the square root of its
        F statistic (capped at the 99th percentile of the selected CpGs' F, normalised to
        mean 1) before the ridge fit, a per-CpG ridge penalty; ``'none'``: unscaled.
    calibration_C
        Inverse L2 penalty of the calibrator.
    filter_probes
        Drop the DKFZ exclusion lists before selection.
    """

    def __init__(self, model: str = "linear", n_features: int = 10_000,
                 calibration: str = "ridge", cv_folds: int = 5, random_state: int | None = 0,
                 min_feature_fraction: float = 0.2, threshold: float = CALL_THRESHOLD,
                 n_trees: int = 500, n_jobs: int | None = None, alpha: float = 1.0,
                 calibration_C: float = 10.0, filter_probes: bool = True,
                 binarise_scale: float = 0.25, selection: str = "anova",
                 n_candidates: int = 32_000, weighting: str = "anova") -> None:
        self.model = model
        self.n_features = n_features
        self.calibration = calibration
        self.cv_folds = cv_folds
        self.random_state = random_state
        self.min_feature_fraction = min_feature_fraction
        self.threshold = threshold
        self.n_trees = n_trees
        self.n_jobs = n_jobs
        self.alpha = alpha
        self.calibration_C = calibration_C
        self.filter_probes = filter_probes
        self.binarise_scale = binarise_scale
        self.selection = selection
        self.n_candidates = n_candidates
        self.weighting = weighting

    # ------------------------------------------------------------------ fitting

    def fit(self, X: pd.DataFrame, y: Any) -> MethylationClassifier:
        """Filter probes, select CpGs, fit base model and calibrator (module docstring).

        Raises
        ------
        InputError
            Wrong input type, label/sample mismatch, unknown ``model``/``calibration``, too few
            probes left after filtering.
        """
        if self.model not in ("linear", "rf"):
            raise InputError(f"unknown model '{self.model}'", expected="'linear' or 'rf'")
        if self.calibration not in ("ridge", "none"):
            raise InputError(f"unknown calibration '{self.calibration}'",
                             expected="'ridge' or 'none'")
        X = _check_betas(X, "training betas")
        if (isinstance(y, pd.Series) and not y.index.equals(X.index)
                and set(y.index) == set(X.index) and y.index.is_unique):
            y = y.reindex(X.index)  # labels keyed by sample id: align them to the rows
        y = np.asarray(pd.Series(y).astype(str))
        if len(y) != len(X):
            raise InputError(f"{len(y):,} labels for {len(X):,} samples",
                             fix="give one label per row of the beta matrix")
        cols = pd.Index(X.columns.astype(str))
        keep = np.ones(len(cols), dtype=bool)
        if self.filter_probes:
            excluded = frozenset().union(*(probe_filter(name) for name in PROBE_FILTERS))
            keep = ~cols.isin(list(excluded))
        values = X.to_numpy(dtype=np.float32)[:, keep]
        kept = cols[keep]
        with np.errstate(invalid="ignore"):
            var = np.nanvar(values, axis=0)
        var = np.nan_to_num(var, nan=-1.0)
        n_variable = int((var > 0).sum())
        if min(int(self.n_features), n_variable) < 2:
            raise InputError("fewer than two variable probes left after filtering",
                             fix="check that the betas are probes x samples the right way")
        if self.selection not in ("anova", "variance"):
            raise InputError(f"unknown selection '{self.selection}'",
                             expected="'anova' or 'variance'")
        if self.weighting not in ("anova", "none"):
            raise InputError(f"unknown weighting '{self.weighting}'",
                             expected="'anova' or 'none'")
        n_cand = min(n_variable, max(int(self.n_candidates), int(self.n_features)))
        cand = np.sort(np.argsort(-var, kind="stable")[:n_cand])
        Xc = values[:, cand]
        del values
        self.classes_ = np.unique(y)
        self.n_features_in_ = X.shape[1]
        self.training_sha256_ = _training_hash(X, y)

        codes = np.searchsorted(self.classes_, y)
        sums = _class_sums(Xc, codes, len(self.classes_))  # once; folds subtract their test rows
        if self.calibration == "ridge":
            folds = StratifiedKFold(n_splits=self.cv_folds, shuffle=True,
                                    random_state=self.random_state)
            oof = np.empty((len(y), len(self.classes_)))
            for train, test in folds.split(Xc, y):
                # selection is repeated inside each internal fold: the calibrator must learn
                # from scores of samples that did not choose the features
                held = _class_sums(Xc[test], codes[test], len(self.classes_))
                f = _f_from_sums(*(a - b for a, b in zip(sums, held, strict=True)))
                sel = self._select(Xc, f, rows=train)
                base = self._fit_base(Xc[np.ix_(train, sel)], y[train], f[sel])
                oof[test] = self._expand(base, self._base_scores(base, Xc[np.ix_(test, sel)]))
            self._fit_calibrator(oof, y)
        f = _f_from_sums(*sums)
        sel = self._select(Xc, f)
        Xs = Xc[:, sel]
        self.features_ = np.asarray(kept[cand[sel]], dtype=str)
        self.feature_means_ = np.nanmean(Xs, axis=0).astype(np.float64)
        self.base_ = self._fit_base(Xs, y, f[sel])
        return self

    def _select(self, Xc: np.ndarray, f: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Column indices (sorted) of the ``n_features`` CpGs to keep among the candidates;
        ``f`` is the ANOVA F of every candidate on the samples ``rows`` (default all)."""
        n = min(int(self.n_features), Xc.shape[1])
        if n == Xc.shape[1]:
            return np.arange(n)
        if self.selection == "variance":
            with np.errstate(invalid="ignore"):
                score = np.nan_to_num(np.nanvar(Xc if rows is None else Xc[rows], axis=0),
                                      nan=-1.0)
        else:
            score = f
        return np.sort(np.argsort(-score, kind="stable")[:n])

    def _fit_base(self, Xs: np.ndarray, y: np.ndarray, f: np.ndarray) -> dict[str, Any]:
        """Base model on the selected CpGs ``Xs``; ``f`` is their ANOVA F (the weights)."""
        classes = np.unique(y)
        if self.model == "linear":
            enc, means = _encode(Xs, scale=self.binarise_scale)
            weight = np.ones(Xs.shape[1])
            if self.weighting == "anova":
                # a CpG with no variance inside any class has an unbounded F; capped at the
                # 99th percentile it cannot take all the weight from the others
                weight = np.sqrt(np.minimum(f, np.quantile(f, 0.99)))
                weight = weight / weight.mean() if weight.mean() > 0 else np.ones_like(weight)
            ridge = RidgeClassifier(alpha=self.alpha).fit(enc * weight.astype(np.float32), y)
            coef = np.atleast_2d(ridge.coef_) * weight  # scores then need no weights
            intercept = np.atleast_1d(ridge.intercept_)
            if len(classes) == 2:  # one decision row for two classes: mirror it
                coef, intercept = np.vstack([-coef, coef]), np.r_[-intercept, intercept]
            return {"kind": "linear", "classes": classes, "coef": coef, "means": means,
                    "intercept": intercept, "scale": self.binarise_scale}
        from sklearn.ensemble import RandomForestClassifier

        filled = np.where(np.isnan(Xs), np.nanmean(Xs, axis=0), Xs)
        forest = RandomForestClassifier(n_estimators=self.n_trees, max_features="sqrt",
                                        random_state=self.random_state, n_jobs=self.n_jobs)
        forest.fit(filled, y)
        return {"kind": "rf", "classes": forest.classes_, "forest": forest,
                "means": np.nanmean(Xs, axis=0)}

    @staticmethod
    def _base_scores(base: dict[str, Any], Xs: np.ndarray) -> np.ndarray:
        if base["kind"] == "linear":
            enc, _ = _encode(Xs, base["means"], scale=base["scale"])
            present = (~np.isnan(Xs)).mean(axis=1, keepdims=True)
            return base["intercept"] + (enc @ base["coef"].T) / np.maximum(present, 1e-9)
        filled = np.where(np.isnan(Xs), base["means"], Xs)
        return base["forest"].predict_proba(filled)

    def _expand(self, base: dict[str, Any], scores: np.ndarray) -> np.ndarray:
        """Scores in the column order of ``classes_`` (a fold may miss a class)."""
        if len(base["classes"]) == len(self.classes_):
            return scores
        fill = _MISSING_CLASS_SCORE if base["kind"] == "linear" else 0.0
        out = np.full((len(scores), len(self.classes_)), fill)
        out[:, np.searchsorted(self.classes_, base["classes"])] = scores
        return out

    def _fit_calibrator(self, scores: np.ndarray, y: np.ndarray) -> None:
        cal = LogisticRegression(C=self.calibration_C, max_iter=2000)
        cal.fit(scores, y)
        coef = np.zeros((len(self.classes_), scores.shape[1]))
        intercept = np.full(len(self.classes_), -np.inf)
        idx = np.searchsorted(self.classes_, cal.classes_)
        if len(cal.classes_) == 2:  # binary: sklearn keeps one row for the second class
            coef[idx[1]], intercept[idx[1]] = cal.coef_[0], cal.intercept_[0]
            intercept[idx[0]] = 0.0
        else:
            coef[idx], intercept[idx] = cal.coef_, cal.intercept_
        self.calibrator_coef_, self.calibrator_intercept_ = coef, intercept

    # ------------------------------------------------------------------ prediction

    def _aligned(self, X: Any) -> tuple[pd.DataFrame, np.ndarray]:
        """``X`` (suffixes mapped) and its values at the selected features (NaN where absent)."""
        check_is_fitted(self, "base_")
        X = _check_betas(X, "betas")
        cols = pd.Index(X.columns.astype(str))
        pos = cols.get_indexer(self.features_)
        values = X.to_numpy(dtype=np.float32, copy=False)
        out = np.full((len(X), len(self.features_)), np.nan, dtype=np.float32)
        found = pos >= 0
        out[:, found] = values[:, pos[found]]
        return X, out

    def features_present(self, X: pd.DataFrame) -> pd.Series:
        """Per sample, how many of the model's CpGs have a beta value (not NaN)."""
        X, out = self._aligned(X)
        return pd.Series((~np.isnan(out)).sum(axis=1), index=X.index, name="features_present")

    def _selected(self, X: Any) -> np.ndarray:
        """Selected features of ``X`` (NaN where absent); refuses too sparse samples."""
        X, out = self._aligned(X)
        present = (~np.isnan(out)).sum(axis=1)
        required = self.features_required_
        low = np.flatnonzero(present < required)
        if len(low):
            i = int(low[0])
            raise InputError(
                f"only {int(present[i]):,} of the model's {len(self.features_):,} CpGs are "
                f"present ({present[i] / len(self.features_):.1%}); at least {required:,} "
                f"({self.min_feature_fraction:.0%}) are needed"
                + (f" ({len(low)} samples below the minimum)" if len(low) > 1 else ""),
                sample=str(X.index[i]),
                fix="use array data or a deeper sequencing run covering more of the model's "
                    "CpGs, or a model trained on the CpGs this platform measures")
        return out

    @property
    def features_required_(self) -> int:
        """Features a sample needs present: ``ceil(min_feature_fraction * n_features)``."""
        check_is_fitted(self, "features_")
        return int(np.ceil(self.min_feature_fraction * len(self.features_)))

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Base-model scores (linear scores or forest votes), samples x ``classes_``."""
        return self._expand(self.base_, self._base_scores(self.base_, self._selected(X)))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated class probabilities, samples x ``classes_``.

        Raises
        ------
        InputError
            A sample with fewer than ``min_feature_fraction`` of the selected CpGs.
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        """
        return self._proba(self._selected(X))

    def _proba(self, Xs: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from the selected features (aligned once per call)."""
        scores = self._expand(self.base_, self._base_scores(self.base_, Xs))
        if self.calibration == "ridge":
            z = scores @ self.calibrator_coef_.T + self.calibrator_intercept_
        elif self.base_["kind"] == "linear":
            z = scores
        else:
            return scores / np.maximum(scores.sum(axis=1, keepdims=True), 1e-12)
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Class with the highest calibrated score, or ``'no match'`` below ``threshold``."""
        proba = self.predict_proba(X)
        best = proba.argmax(axis=1)
        calls = self.classes_[best].astype(object)
        calls[proba[np.arange(len(best)), best] < self.threshold] = NO_MATCH
        return calls

    def call(self, X: pd.DataFrame, *, families: dict[str, str] | None = None) -> pd.DataFrame:
        """One row per sample: the call, its level, top-3 classes and feature coverage.

        Rule: ``class`` call when the top calibrated score ≥ ``threshold``; otherwise a
        ``family`` call when the summed score of one family (``families``, default
        :func:`family_of`, the code prefix; e.g. the six chondrosarcoma subgroups) reaches
        ``threshold``; otherwise ``'no match'`` (level ``none``).

        Returns
        -------
        DataFrame
            Index = samples; columns call, call_level (class/family/none), score, family,
            family_score, class_1..3, score_1..3, features_present, features_required,
            features_total.
        """
        Xs = self._selected(X)
        proba = self._proba(Xs)
        fam = families or {}
        fam_of = np.array([fam.get(c, family_of(c)) for c in self.classes_])
        fam_names = np.unique(fam_of)
        fam_sizes = {f: int((fam_of == f).sum()) for f in fam_names}
        fam_scores = np.stack([proba[:, fam_of == f].sum(axis=1) for f in fam_names], axis=1)
        rows = []
        for i in range(len(proba)):
            order = np.argsort(-proba[i], kind="stable")[:3]
            top_fam = int(fam_scores[i].argmax())
            fam_name = str(fam_names[top_fam])
            row: dict[str, Any] = {}
            if proba[i, order[0]] >= self.threshold:
                row.update(call=str(self.classes_[order[0]]), call_level="class",
                           score=float(proba[i, order[0]]))
            elif fam_sizes[fam_name] > 1 and fam_scores[i, top_fam] >= self.threshold:
                row.update(call=fam_name, call_level="family",
                           score=float(fam_scores[i, top_fam]))
            else:
                row.update(call=NO_MATCH, call_level="none", score=float(proba[i, order[0]]))
            row.update(family=fam_name, family_score=float(fam_scores[i, top_fam]))
            for k in range(3):
                if k < len(order):
                    row[f"class_{k + 1}"] = str(self.classes_[order[k]])
                    row[f"score_{k + 1}"] = float(proba[i, order[k]])
            row.update(features_present=int((~np.isnan(Xs[i])).sum()),
                       features_required=self.features_required_,
                       features_total=len(self.features_))
            rows.append(row)
        return pd.DataFrame(rows, index=pd.Index(np.asarray(X.index), name="sample"))

    explain = call


def anova_f(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """One-way ANOVA F statistic of every column of ``X`` between the classes of ``y``,
    ignoring missing values (NaN); 0 where it is undefined.

    F = [SSB / (k - 1)] / [SSW / (N - k)] with N the non-missing values and k the classes
    with at least one of them (Fisher's analysis of variance; the same statistic as
    ``scipy.stats.f_oneway`` / scikit-learn's ``f_classif`` on complete data).
    """
    classes, codes = np.unique(np.asarray(y), return_inverse=True)
    return _f_from_sums(*_class_sums(X, codes, len(classes)))


def _class_sums(X: np.ndarray, codes: np.ndarray,
                n_classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per class and column: count of non-missing values, their sum and sum of squares
    (float64, classes x columns). Sums are additive over samples, so the statistics of a
    training fold are those of all samples minus those of its held-out rows."""
    groups = np.zeros((n_classes, len(codes)))
    groups[codes, np.arange(len(codes))] = 1.0
    present = ~np.isnan(X)
    filled = np.where(present, X, 0.0).astype(np.float64)
    count, total = groups @ present, groups @ filled
    np.multiply(filled, filled, out=filled)
    return count, total, groups @ filled


def _f_from_sums(count: np.ndarray, total: np.ndarray, squares: np.ndarray) -> np.ndarray:
    """The F statistic of :func:`anova_f` from :func:`_class_sums`."""
    n = count.sum(axis=0)
    k = (count > 0.5).sum(axis=0)
    means = total / np.maximum(count, 1.0)
    grand = total.sum(axis=0) / np.maximum(n, 1.0)
    ssb = (count * (means - grand) ** 2).sum(axis=0)
    ssw = np.maximum((squares - count * means ** 2).sum(axis=0), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = (ssb / (k - 1)) / (ssw / (n - k))
    return np.nan_to_num(f, nan=0.0, posinf=np.finfo(float).max)


def _encode(Xs: np.ndarray, means: np.ndarray | None = None, *,
            scale: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Binarise (softly: ``tanh((beta - 0.5) / scale)``; ``scale=0``: sign) to [-1, 1],
    centre by the (training) mean, missing → 0."""
    missing = np.isnan(Xs)
    if scale > 0:
        sign = np.tanh((np.where(missing, 0.5, Xs) - 0.5) / scale).astype(np.float32)
    else:
        sign = np.where(Xs >= 0.5, 1.0, -1.0).astype(np.float32)
    if means is None:
        masked = np.where(missing, np.nan, sign)
        means = np.nan_to_num(np.nanmean(masked, axis=0))
    enc = sign - means.astype(np.float32)
    enc[missing] = 0.0
    return enc, means


def _training_hash(X: pd.DataFrame, y: np.ndarray) -> str:
    """sha256 of sample ids, labels, probe ids and betas (float32 bytes)."""
    h = hashlib.sha256()
    h.update("\n".join(map(str, X.index)).encode())
    h.update("\n".join(map(str, y)).encode())
    h.update("\n".join(map(str, X.columns)).encode())
    h.update(np.ascontiguousarray(X.to_numpy(dtype=np.float32)).tobytes())
    return h.hexdigest()


# ---------------------------------------------------------------------- evaluation


def nested_cross_validate(estimator: MethylationClassifier, X: pd.DataFrame, y: Any, *,
                          outer_folds: int = 5, random_state: int = 0) -> dict[str, Any]:
    """Honest performance by nested cross-validation (Capper 2018; Maros 2020).

    Each outer training set gets a fresh clone of ``estimator``, whose ``fit`` runs the inner
    folds (feature selection and calibration see only the outer training samples).

    Returns
    -------
    dict
        accuracy (top class vs truth), brier (:func:`brier_score`), log_loss, share_confident
        (share of samples with top score ≥ threshold), accuracy_confident (accuracy among
        those), n_samples, outer_folds, per fold: fit_seconds, predict_seconds, accuracy;
        ``proba`` (out-of-fold probabilities, DataFrame) and ``classes``.
    """
    y = pd.Series(np.asarray(y).astype(str), index=X.index)
    classes = np.unique(y)
    proba = np.zeros((len(y), len(classes)))
    folds = StratifiedKFold(n_splits=outer_folds, shuffle=True, random_state=random_state)
    per_fold = []
    for k, (train, test) in enumerate(folds.split(np.zeros(len(y)), y)):
        est = clone(estimator)
        t0 = time.perf_counter()
        est.fit(X.iloc[train], y.iloc[train])
        t1 = time.perf_counter()
        p = est.predict_proba(X.iloc[test])
        t2 = time.perf_counter()
        cols = np.searchsorted(classes, est.classes_)
        proba[np.ix_(test, cols)] = p
        acc = float(np.mean(est.classes_[p.argmax(axis=1)] == y.iloc[test].to_numpy()))
        per_fold.append({"fold": k + 1, "fit_seconds": t1 - t0, "predict_seconds": t2 - t1,
                         "n_test": len(test), "accuracy": acc})
    top = proba.max(axis=1)
    pred = classes[proba.argmax(axis=1)]
    correct = pred == y.to_numpy()
    confident = top >= estimator.threshold
    return {
        "accuracy": float(correct.mean()),
        "brier": brier_score(y, proba, classes),
        "log_loss": log_loss(y, proba, classes),
        "share_confident": float(confident.mean()),
        "accuracy_confident": float(correct[confident].mean()) if confident.any() else None,
        "n_samples": len(y),
        "outer_folds": outer_folds,
        "folds": per_fold,
        "classes": classes.tolist(),
        "proba": pd.DataFrame(proba, index=X.index, columns=classes),
    }


# ---------------------------------------------------------------------- artifacts

_ARRAYS = ("features_", "classes_", "feature_means_", "calibrator_coef_",
           "calibrator_intercept_")


def save_model(clf: MethylationClassifier, path: str | Path, *,
               metrics: dict[str, Any] | None = None,
               extra: dict[str, Any] | None = None) -> Path:
    """Write a fitted linear classifier as one versioned ``.npz`` file (no pickle).

    Arrays: selected probe ids, classes, the linear layer, the calibrator; plus ``metadata``,
    a JSON document (format version, hyperparameters, training-set sha256, cross-validation
    metrics, software versions, ``extra``, e.g. ``{"simulated": true}``). Written to a
    temporary name and renamed.

    Raises
    ------
    InputError
        For a random-forest model (not saveable) or an unfitted one.
    """
    try:
        check_is_fitted(clf, "base_")
    except NotFittedError as exc:
        raise InputError("the classifier is not trained", fix="call fit first") from exc
    if clf.base_["kind"] != "linear":
        raise InputError("random-forest models cannot be saved as artifacts (only the default "
                         "'linear' model is)", fix="train with model='linear'")
    import sklearn

    clean = {k: v for k, v in (metrics or {}).items() if k != "proba"}
    meta = {
        "format": "tumorboard-methylation-classifier",
        "format_version": MODEL_FORMAT_VERSION,
        "params": clf.get_params(),
        "training_sha256": clf.training_sha256_,
        "n_features_in": int(clf.n_features_in_),
        "metrics": clean,
        "software": {"tumorboard": _version(), "scikit-learn": sklearn.__version__,
                     "numpy": np.__version__, "python": platform.python_version()},
        "extra": extra or {},
    }
    arrays = {name: np.asarray(getattr(clf, name)) for name in _ARRAYS
              if hasattr(clf, name)}
    arrays["features_"] = arrays["features_"].astype(str)
    arrays["classes_"] = arrays["classes_"].astype(str)
    arrays["base_coef"] = clf.base_["coef"]
    arrays["base_intercept"] = np.asarray(clf.base_["intercept"])
    arrays["base_means"] = np.asarray(clf.base_["means"])
    arrays["base_classes"] = np.asarray(clf.base_["classes"]).astype(str)
    for key, value in (getattr(clf, "placement_", None) or {}).items():
        arrays[f"placement_{key}"] = np.asarray(value)
    arrays["metadata"] = np.array(json.dumps(meta, default=_jsonable))
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)
    return path


def load_model(path: str | Path) -> MethylationClassifier:
    """Read an artifact written by :func:`save_model` (``allow_pickle=False``).

    Raises
    ------
    InputError
        Missing or unreadable file, not a tumorboard classifier, or another format version.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("model file not found", file=path,
                         fix="train one first (tumorboard classifier train)")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise InputError(f"not a readable model artifact ({exc})", file=path,
                         expected="a .npz file written by tumorboard") from exc
    if "metadata" not in arrays:
        raise InputError("not a tumorboard classifier artifact (no metadata)", file=path)
    meta = json.loads(str(arrays["metadata"]))
    if meta.get("format") != "tumorboard-methylation-classifier":
        raise InputError("not a tumorboard classifier artifact", file=path)
    version = meta.get("format_version")
    if version != MODEL_FORMAT_VERSION:
        raise InputError(f"model format version {version}; this tumorboard reads version "
                         f"{MODEL_FORMAT_VERSION}", file=path,
                         fix="retrain the model with this tumorboard version")
    clf = MethylationClassifier(**meta["params"])
    for name in _ARRAYS:
        if name in arrays:
            setattr(clf, name, arrays[name])
    clf.features_ = clf.features_.astype(object).astype(str)
    clf.classes_ = arrays["classes_"].astype(object)
    clf.n_features_in_ = meta["n_features_in"]
    clf.training_sha256_ = meta["training_sha256"]
    clf.base_ = {"kind": "linear", "classes": arrays["base_classes"].astype(object),
                 "coef": arrays["base_coef"], "intercept": arrays["base_intercept"],
                 "means": arrays["base_means"], "scale": float(clf.binarise_scale)}
    placement = {k[len("placement_"):]: v for k, v in arrays.items()
                 if k.startswith("placement_")}
    if placement:  # the reference map of tumorboard.diagnosis.placement
        placement["labels"] = placement["labels"].astype(object).astype(str)
        clf.placement_ = placement
    clf.metadata_ = meta
    return clf


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tumorboard")
    except PackageNotFoundError:
        return "unknown"


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)
