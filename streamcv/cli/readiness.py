"""Can a pipeline run here, now, offline? The models its stages will load, where each one's
weights would come from, and the command that fetches those that are missing.

``streamcv demo`` checks this before it starts (one line per missing model instead of a
traceback half-way through setup); ``streamcv doctor`` prints it for every preset.

Example:
    >>> from streamcv.app import as_pipeline
    >>> [(n.stage, n.need.name, n.found) for n in pipeline_needs(as_pipeline("people"))]
    [('detect', 'yolox_nano', True), ('track', 'person_reid_retail_0288', True)]
    >>> missing(as_pipeline("surveillance"))
    []
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from streamcv.config.models import PipelineConfig
from streamcv.errors import UnknownNameError
from streamcv.models.registry import get_model, locate
from streamcv.stages.base import ModelNeed

__all__ = ["Need", "pipeline_needs", "missing", "unmet", "missing_line"]


@dataclass(frozen=True)
class Need:
    """One model of one stage: ``where`` is ``config``, ``store``, ``package``, ``builtin``,
    ``missing`` or ``unknown`` (a name the registry does not know)."""

    stage: str
    need: ModelNeed
    where: str
    path: Path | None

    @property
    def found(self) -> bool:
        return self.where not in ("missing", "unknown")

    def fetch(self) -> str:
        """How to get the weights: the registry's hint, and why they do not ship if they do not."""
        if self.where == "unknown":
            return "check the model name (`streamcv models list`)"
        entry = get_model(self.need.name)
        reason = entry.not_bundled.split(" (")[0].split(",")[0]  # "licence unclear"
        why = f" (not shipped: {reason})" if entry.not_bundled else ""
        return f"{entry.fetch_hint()}{why}"


def pipeline_needs(pipeline: PipelineConfig) -> list[Need]:
    """Every model the enabled stages of ``pipeline`` will load, and where each comes from."""
    out = []
    for cfg in pipeline.stages:
        if not cfg.enabled:
            continue
        for need in cfg.models():
            try:
                where, path = locate(need.name, need.path)
            except UnknownNameError:
                where, path = "unknown", None
            out.append(Need(cfg.stage_name, need, where, path))
    return out


def unmet(needs: list[Need]) -> list[Need]:
    """Those of ``needs`` that are not here and not optional: what stops a pipeline."""
    return [n for n in needs if not n.found and not n.need.optional]


def missing(pipeline: PipelineConfig) -> list[Need]:
    """The models ``pipeline`` cannot run without that are not here (optional ones excluded)."""
    return unmet(pipeline_needs(pipeline))


def missing_line(pipeline: PipelineConfig, needs: list[Need]) -> str:
    """One line saying what ``pipeline`` lacks and how to fetch it."""
    parts = [f"{n.need.name} (stage {n.stage}): {n.fetch()}" for n in needs]
    return f"pipeline {pipeline.name!r} needs weights that are not installed: " + "; ".join(parts)
