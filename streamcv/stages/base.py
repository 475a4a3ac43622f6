"""Stage API: a small class with a fixed lifecycle and one work verb.

Lifecycle: ``setup(context)`` once (:class:`~streamcv.stages.context.StageContext`: device,
earlier stages' configs, row sink) → ``process(batch)`` many times → ``on_source_eos(source_id)``
when a source ends → ``reset(source_id)`` to forget per-source state → ``close()`` once.
Per-source state lives in dicts keyed by source id and is bounded by the number of sources.
Media sinks ask each stage to ``draw(image, output)`` its own output on a picture.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from streamcv import plugins
from streamcv.draw import draw_boxes
from streamcv.registry import Registry
from streamcv.stages.context import StageContext
from streamcv.stages.gating import Gate, GateConfig, run_gated
from streamcv.strict import StrictModel
from streamcv.types import Event, FrameResult, StageOutput

__all__ = ["ModelNeed", "StageConfig", "Stage", "STAGES", "stage_type", "GateConfig", "run_gated",
           "StageContext"]


@dataclass(frozen=True)
class ModelNeed:
    """A model a stage will load at setup, as its config says (see :meth:`StageConfig.models`).

    Attributes:
        name: registry name (``streamcv models list``).
        path: explicit weights path from the config (``None``: resolved through the registry).
        optional: the stage runs without it (an ``auto`` choice that falls back, with a warning).
    """

    name: str
    path: str | None = None
    optional: bool = False


class StageConfig(StrictModel):
    """Fields every stage config has. Subclasses add ``type: Literal[...]`` and their options."""

    type: str
    name: str | None = Field(
        None, description="Unique stage name in the pipeline (defaults to the type).",
        pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$",
    )
    enabled: bool = Field(True, description="Set false to keep a stage in a preset but skip it.")
    gate: GateConfig | None = Field(
        None, description="Run only on frames where an earlier stage, usually motion, saw "
        "something; other frames get a skipped output (see streamcv.stages.gating)."
    )

    @property
    def stage_name(self) -> str:
        return self.name or self.type

    def upstream_refs(self) -> dict[str, str]:
        """Earlier stages this one reads: field name → stage name (set ``*_from`` fields).

        Stages with defaults that depend on the pipeline (``detections_from`` that falls back to
        ``track`` or ``detect``) override :meth:`resolve_upstream` as well.
        """
        refs: dict[str, str] = {}
        for field_name in type(self).model_fields:
            value = getattr(self, field_name)
            if field_name.endswith("_from") and isinstance(value, str):
                refs[field_name] = value
        return refs

    def resolve_upstream(self, earlier: list[str]) -> dict[str, str]:
        """:meth:`upstream_refs` with pipeline-dependent defaults filled in from ``earlier``
        (the names of the enabled stages before this one)."""
        return self.upstream_refs()

    def models(self) -> list[ModelNeed]:
        """The registry models this stage will load with this config (none by default).

        ``streamcv doctor`` and ``streamcv demo`` use it to tell, before anything runs, whether
        the weights are there and which command fetches those that are not.
        """
        return []


C = TypeVar("C", bound=StageConfig)


class Stage(ABC, Generic[C]):
    """Base class of all stages.

    Example:
        >>> from streamcv.stages import build_stage
        >>> stage = build_stage({"type": "frame_stats"})
        >>> stage.name
        'frame_stats'
    """

    type_name: ClassVar[str]
    config_model: ClassVar[type[StageConfig]]
    needs_device: ClassVar[bool] = False
    """True for stages that run models on a device (resolving 'auto' imports torch)."""

    def __init__(self, config: C) -> None:
        self.config = config
        self.name = config.stage_name
        self.gate: Gate | None = Gate(config.gate) if config.gate is not None else None
        self.context = StageContext()

    def setup(self, context: StageContext | str | None = None) -> None:
        """Keep ``context`` (a bare device string is accepted) and call :meth:`on_setup`."""
        if isinstance(context, str):
            context = StageContext(device=context)
        self.context = context or StageContext()
        self.on_setup(self.context)

    def on_setup(self, context: StageContext) -> None:  # noqa: B027 - optional hook
        """Load models on ``context.device`` ('cpu' or 'cuda[:N]') and allocate resources."""

    @abstractmethod
    def process(self, batch: Sequence[FrameResult]) -> list[StageOutput]:
        """Return one output per input, in order. Frames may come from several sources."""

    def on_source_eos(self, source_id: str) -> list[Event]:
        """Called when ``source_id`` ends; may return final events. Default: reset its state."""
        self.reset(source_id)
        return []

    def reset(self, source_id: str) -> None:  # noqa: B027 - optional hook
        """Forget all state kept for ``source_id``."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""

    def draw(self, image: npt.NDArray[np.uint8], output: StageOutput) -> npt.NDArray[np.uint8]:
        """Draw this stage's ``output`` on an RGB ``image``; return a new image (``image`` is
        never changed).

        Media sinks ask every stage of the chain in turn
        (:meth:`streamcv.runtime.StageChain.draw`), so a stage draws only what it produced. The
        default draws ``output.detections``: boxes with label, score and track id. Stages with
        more to show (skeletons, moving regions, a density map) override it; helpers are in
        :mod:`streamcv.draw`.
        """
        if output.detections is None:
            return np.array(image, copy=True)
        return draw_boxes(image, output.detections, key=self.name)


def _feature_stages() -> list[tuple[str, type[Stage[StageConfig]], type[Any]]]:
    return [(cls.type_name, cls, cls.config_model) for feat in plugins.features()
            for cls in feat.stages]


#: Stage types of all features (see :mod:`streamcv.plugins`), loaded on first use.
STAGES: Registry[Stage[StageConfig]] = Registry("stage", loader=_feature_stages)
plugins.on_change(STAGES.reload)


def stage_type(name: str, config: type[StageConfig]):  # type: ignore[no-untyped-def]
    """Class decorator naming a stage type and its config model; a feature lists the class in
    its :class:`~streamcv.plugins.Feature` ``stages``."""

    def deco(cls: type[Stage[C]]) -> type[Stage[C]]:
        cls.type_name = name
        cls.config_model = config
        return cls

    return deco
