"""Where a case lies among the classifier's reference: a t-SNE map with out-of-sample placement.

The reference samples' selected CpGs, encoded as the linear model sees them (soft-binarised,
centred, missing = 0), are reduced by PCA to ``n_pcs`` components and embedded in two
dimensions by t-SNE (van der Maaten & Hinton, J Mach Learn Res 2008;9:2579–2605; the
Heidelberg classifiers show their references the same way: Capper et al. 2018, Fig. 1;
Koelsche et al. 2021, Fig. 1). t-SNE has no transform for new samples, so a case is placed at
the distance-weighted mean map position of its ``k`` nearest reference samples in PCA space
(the approach of openTSNE's ``transform`` initialisation; Poličar et al., bioRxiv 2019,
doi:10.1101/731877). The map is computed once, when a model is trained, and saved with it;
placing a case is a projection and a neighbour search.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tumorboard.diagnosis.classifier import MethylationClassifier, _encode


def _encoded(clf: MethylationClassifier, X: pd.DataFrame) -> np.ndarray:
    _, values = clf._aligned(X)
    enc, _ = _encode(values, clf.base_["means"], scale=clf.base_["scale"])
    return enc


def fit_placement(clf: MethylationClassifier, X: pd.DataFrame, y: Any, *, n_pcs: int = 50,
                  perplexity: float = 30.0, random_state: int = 0) -> MethylationClassifier:
    """Compute the reference map of a fitted classifier from its training data (in place).

    Sets ``clf.placement_``: PCA mean and components, the reference samples' PCA scores, their
    2-D t-SNE coordinates and labels. Saved by :func:`~tumorboard.diagnosis.classifier.
    save_model`.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    enc = _encoded(clf, X)
    n_pcs = int(min(n_pcs, enc.shape[0] - 1, enc.shape[1]))
    pca = PCA(n_components=n_pcs, random_state=random_state).fit(enc)
    scores = pca.transform(enc).astype(np.float32)
    perplexity = float(min(perplexity, (len(enc) - 1) / 3))
    coords = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=random_state
                  ).fit_transform(scores).astype(np.float32)
    clf.placement_ = {"pca_mean": pca.mean_.astype(np.float32),
                      "pca_components": pca.components_.astype(np.float32),
                      "scores": scores, "coords": coords,
                      "labels": np.asarray(pd.Series(y).astype(str).to_numpy(), dtype=str)}
    return clf


def place(clf: MethylationClassifier, X: pd.DataFrame, *, k: int = 10) -> pd.DataFrame:
    """Map positions of samples: weighted mean of their ``k`` nearest reference samples.

    Returns
    -------
    DataFrame
        Index = samples; columns x, y, nearest (label of the nearest reference sample),
        nearest_distance (PCA space). Empty when the model has no reference map.
    """
    p = getattr(clf, "placement_", None)
    if p is None:
        return pd.DataFrame(columns=["x", "y", "nearest", "nearest_distance"])
    enc = _encoded(clf, X)
    scores = (enc - p["pca_mean"]) @ p["pca_components"].T
    d2 = ((scores[:, None, :] - p["scores"][None, :, :]) ** 2).sum(axis=2)
    k = min(k, d2.shape[1])
    idx = np.argsort(d2, axis=1)[:, :k]
    dist = np.sqrt(np.take_along_axis(d2, idx, axis=1))
    w = 1.0 / np.maximum(dist, 1e-6)
    w = w / w.sum(axis=1, keepdims=True)
    xy = (p["coords"][idx] * w[:, :, None]).sum(axis=1)
    return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "nearest": p["labels"][idx[:, 0]],
                         "nearest_distance": dist[:, 0]}, index=X.index)
