"""The pose-transfer pair algorithm of pose-gan ``create_pairs_dataset.py`` (= PATN's copy).

1. keep an image iff its required joints (both shoulders, both hips) are present and its name
   does not start with an excluded prefix (Market-1501 junk ``-1`` and distractors ``0000``);
2. group kept names by a key (reference: the text before the first ``_``);
3. walk groups in order of first appearance and emit every ordered pair of distinct names in
   row order (``itertools.permutations(names, 2)``);
4. test split only: keep ``min(cap, N)`` rows at ``RandomState(seed).permutation(N)[:cap]``
   (what ``DataFrame.sample(n, random_state=0)`` does).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from pgdata.labels import TORSO_JOINTS

__all__ = [
    "GROUP_KEYS",
    "GroupKey",
    "PairRule",
    "PairStats",
    "auto_group_key",
    "group_key",
    "keep_mask",
    "make_pairs",
    "sample_rows",
]

GroupKey = Literal["prefix", "outfit"]
GROUP_KEYS: tuple[GroupKey, ...] = ("prefix", "outfit")
"""``prefix``: ``name.split('_')[0]`` (reference; Market person id, Deformable-GAN outfit).
``outfit``: ``name.rsplit('_', 1)[0]`` (gender + category + id + outfit number for PATN-style
DeepFashion names, whose category may contain ``_``). The outfit key for PATN names is
*inferred* from the published counts, not verified against PATN's unpublished files."""

# PATN/GFLA-style DeepFashion names: fashion<GENDER><Category with _>id<8 digits><NN>_<k><view>.jpg
_PATN_STYLE = re.compile(r"^fashion(MEN|WOMEN)[A-Za-z_]+?id\d{8}\d{2}_\d+[a-z]+\.jpg$")


@dataclass(frozen=True)
class PairRule:
    """Every choice of the pair algorithm; the defaults are the reference behaviour."""

    required_joints: tuple[int, ...] = TORSO_JOINTS
    exclude_prefixes: tuple[str, ...] = ("-1", "0000")
    key: GroupKey | None = None  # None: auto_group_key(names)
    max_pairs_per_group: int | None = None
    test_cap: int | None = 12000
    seed: int = 0


@dataclass
class PairStats:
    """Counts of one run of :func:`make_pairs`."""

    key: str = ""
    rows: int = 0
    kept: int = 0
    groups: int = 0
    singletons: int = 0
    pairs_before_sampling: int = 0
    pairs: int = 0


def keep_mask(names: Sequence[str], kps: np.ndarray, rule: PairRule) -> np.ndarray:
    """Bool ``(N,)``: which rows the keep rule accepts. ``kps`` is ``(N, 18, 3)`` x, y, conf."""
    kps = np.asarray(kps)
    if len(names) != len(kps):
        raise ValueError(f"{len(names)} names but {len(kps)} keypoint rows")
    ok = np.ones(len(names), dtype=bool)
    if rule.required_joints and len(kps):
        ok &= (kps[:, list(rule.required_joints), 2] > 0).all(axis=1)
    if rule.exclude_prefixes:
        prefixes = tuple(rule.exclude_prefixes)
        ok &= np.array([not n.startswith(prefixes) for n in names], dtype=bool)
    return ok


def group_key(name: str, key: GroupKey) -> str:
    """The grouping key of an image name (see :data:`GROUP_KEYS`)."""
    if key == "prefix":
        return name.split("_")[0]
    if key == "outfit":
        return name.rsplit("_", 1)[0]
    raise ValueError(f"unknown group key {key!r}; expected one of {GROUP_KEYS}")


def auto_group_key(names: Sequence[str]) -> GroupKey:
    """``outfit`` when most names are PATN-style DeepFashion names, else the reference ``prefix``.

    ``split('_')[0]`` would cut a PATN name inside its category (``fashionWOMENBlouses``) and
    group a whole category together; Market-1501 and Deformable-GAN names keep ``prefix``.
    """
    probe = names[:1000]
    patn = sum(1 for n in probe if _PATN_STYLE.match(n))
    return "outfit" if probe and patn * 2 > len(probe) else "prefix"


def sample_rows(n: int, cap: int | None, seed: int) -> np.ndarray:
    """Row indices the reference keeps from ``n`` test pairs: a seeded permutation, capped."""
    if cap is None:
        return np.arange(n)
    return np.random.RandomState(seed).permutation(n)[: min(cap, n)]


def make_pairs(
    names: Sequence[str],
    kps: np.ndarray,
    rule: PairRule,
    *,
    sample: bool,
) -> tuple[list[tuple[str, str]], PairStats]:
    """Build the pair list of one split.

    Args:
        names: image names in file order.
        kps: ``(N, 18, 3)`` COCO-18 keypoints (x, y, conf).
        rule: the pair rule.
        sample: apply the test-split sampling (``rule.test_cap``, ``rule.seed``).

    Returns:
        ``(from, to)`` name pairs and the counts.
    """
    key = rule.key or auto_group_key(names)
    stats = PairStats(key=key, rows=len(names))
    ok = keep_mask(names, kps, rule)
    stats.kept = int(ok.sum())
    groups: dict[str, list[str]] = {}
    for name, keep in zip(names, ok, strict=True):
        if keep:
            groups.setdefault(group_key(name, key), []).append(name)
    stats.groups = len(groups)
    stats.singletons = sum(1 for g in groups.values() if len(g) == 1)

    rng = np.random.default_rng(rule.seed)
    pairs: list[tuple[str, str]] = []
    for members in groups.values():
        group_pairs = list(itertools.permutations(members, 2))
        cap = rule.max_pairs_per_group
        if cap is not None and len(group_pairs) > cap:
            chosen = np.sort(rng.choice(len(group_pairs), size=cap, replace=False))
            group_pairs = [group_pairs[i] for i in chosen]
        pairs.extend(group_pairs)
    stats.pairs_before_sampling = len(pairs)
    if sample:
        pairs = [pairs[i] for i in sample_rows(len(pairs), rule.test_cap, rule.seed)]
    stats.pairs = len(pairs)
    return pairs, stats
