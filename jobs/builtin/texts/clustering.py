"""k-means and a 2-D projection for unit-length embeddings, in numpy alone.

labels, centres = kmeans(vectors, k)
points = project_2d(vectors)            # PCA through the SVD
"""

from __future__ import annotations

import numpy as np

MAX_ROUNDS = 100


def kmeans(vectors: np.ndarray, k: int, seed: int = 0, tries: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Cluster rows into k groups: the tightest of `tries` k-means runs from different starts."""
    rng = np.random.default_rng(seed)
    best = None
    for _ in range(tries):
        labels, centres = _lloyd(vectors, k, rng)
        spread = ((vectors - centres[labels]) ** 2).sum()
        if best is None or spread < best[0]:
            best = (spread, labels, centres)
    return best[1], best[2]


def _lloyd(vectors: np.ndarray, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One k-means run: a k-means++ start, then Lloyd rounds until the labels stop changing."""
    n = len(vectors)
    centres = [vectors[rng.integers(n)]]
    nearest = ((vectors - centres[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        weights = nearest / nearest.sum() if nearest.sum() > 0 else np.full(n, 1 / n)
        centres.append(vectors[rng.choice(n, p=weights)])
        nearest = np.minimum(nearest, ((vectors - centres[-1]) ** 2).sum(axis=1))
    centres = np.array(centres)
    labels = np.full(n, -1)
    for _ in range(MAX_ROUNDS):
        distances = (vectors**2).sum(axis=1)[:, None] - 2 * vectors @ centres.T + (centres**2).sum(axis=1)[None, :]
        new_labels = distances.argmin(axis=1)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        for c in range(k):
            members = vectors[labels == c]
            # An emptied cluster restarts at the point farthest from its centre.
            centres[c] = members.mean(axis=0) if len(members) else vectors[distances.min(axis=1).argmax()]
    return labels, centres


def project_2d(vectors: np.ndarray) -> np.ndarray:
    """The rows on their two principal components."""
    centred = vectors - vectors.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    return centred @ components[:2].T


# Words too common to tell one cluster from another.
STOPWORDS = frozenset(
    "the and for are but not you all any can had her was one our out has his how its may new now old see two who "
    "did get him let put say she too use with this that from they have were been what when where which will would "
    "there their them then than into over also just more most some such only very about after before could should "
    "these those other each your until while since because through".split()
)


def top_terms(texts: list[str], labels: np.ndarray, k: int, n: int = 3) -> list[list[str]]:
    """For each cluster, up to `n` words most typical of its texts: frequent in it, rarer elsewhere."""
    words = [{w for w in "".join(c if c.isalnum() else " " for c in t.lower()).split() if len(w) > 2} for t in texts]
    words = [w - STOPWORDS for w in words]
    overall: dict[str, int] = {}
    for found in words:
        for word in found:
            overall[word] = overall.get(word, 0) + 1
    terms = []
    for c in range(k):
        inside: dict[str, int] = {}
        members = np.flatnonzero(labels == c)
        for i in members:
            for word in words[i]:
                inside[word] = inside.get(word, 0) + 1
        # Share of the cluster's texts holding the word, times the share of the word's texts in the
        # cluster; a word in one text only tells nothing about the cluster.
        score = {w: (m / len(members)) * (m / overall[w]) for w, m in inside.items() if m > 1}
        terms.append(sorted(score, key=lambda w: (-score[w], w))[:n])
    return terms
