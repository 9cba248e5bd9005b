"""Name helpers shared by the demo's pieces."""

from __future__ import annotations


def village_name(key: str) -> str:
    """The name of a village key from read_divisions: 高村#2 → 高村."""
    return key.split("#", 1)[0]


def community_stem(village: str) -> str | None:
    """星岩社区 → 星岩; None for a village (村)."""
    village = village_name(village)
    for suffix in ("社区居委会", "居委会", "社区"):
        if village.endswith(suffix) and len(village) > len(suffix):
            return village.removesuffix(suffix)
    return None


def is_community(village: str) -> bool:
    return community_stem(village) is not None


def is_street(town: str) -> bool:
    return town.endswith("街道")
