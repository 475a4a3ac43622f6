"""Motion gating: a later stage runs only on frames where motion opened its gate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pytest
from motionkit import results, room, with_box
from pydantic import ValidationError

from streamcv.errors import StageError
from streamcv.plugins import Feature, add_feature
from streamcv.runtime import StageChain
from streamcv.stages.base import Stage, StageConfig, run_gated, stage_type
from streamcv.stages.gating import SKIPPED, Gate, GateConfig
from streamcv.types import FrameResult, StageOutput


class CountingConfig(StageConfig):
    type: Literal["test_counting"] = "test_counting"


@stage_type("test_counting", CountingConfig)
class Counting(Stage[CountingConfig]):
    """Records which frames it ran on."""

    def __init__(self, config: CountingConfig) -> None:
        super().__init__(config)
        self.seen: list[int] = []

    def process(self, batch: Sequence[FrameResult]) -> list[StageOutput]:
        self.seen += [r.frame.index for r in batch]
        return [StageOutput(metrics={"ran": 1.0}) for _ in batch]



add_feature(Feature(name="test_motion_gating", stages=(Counting,)))

def _fake(index: int, t: float, motion: dict[str, float] | None, *, skipped: bool = False,
          source: str = "cam") -> FrameResult:
    from motionkit import frame

    f = frame(np.zeros((8, 8, 3), np.uint8), index, source=source)
    f = type(f)(f.source_id, f.index, f.pts, f.time_base, t, f.wallclock, f.image)
    outs = {} if motion is None else {"motion": StageOutput(metrics=motion, skipped=skipped)}
    return FrameResult(f, outs)


@pytest.mark.parametrize(
    ("gate", "frames", "expected"),
    [
        # open on active motion, hold 1 s after it
        ({"hold_s": 1.0}, [(0, 0), (1, 1), (1.5, 0), (2.0, 0), (2.5, 0)],
         [False, True, True, True, False]),
        ({"hold_s": 0.0}, [(0, 1), (0.1, 0), (0.2, 1)], [True, False, True]),
        # heartbeat: run every 2 s even when nothing moves
        ({"hold_s": 0, "heartbeat_s": 2}, [(0, 0), (1, 0), (2, 0), (3, 0), (4.5, 0)],
         [True, False, True, False, True]),
        # a different metric and threshold
        ({"metric": "score", "above": 0.1, "hold_s": 0}, [(0, 0.05), (1, 0.2)], [False, True]),
    ],
)
def test_gate_decisions(gate: dict[str, Any], frames: list[tuple[float, float]],
                        expected: list[bool]) -> None:
    g = Gate(GateConfig(**gate))
    batch = [_fake(i, t, {"active": v, "score": v}) for i, (t, v) in enumerate(frames)]
    assert g.decide(batch) == expected


def test_gate_on_zones_fails_open_and_needs_its_stage() -> None:
    g = Gate(GateConfig(zones=["door"], hold_s=0))
    batch = [_fake(0, 0, {"active": 1, "zone.desk": 0.4, "zone.door": 0.0}),
             _fake(1, 1, {"active": 1, "zone.door": 0.2}),
             _fake(2, 2, {}, skipped=True)]  # the motion stage failed on this frame: open
    assert g.decide(batch) == [False, True, True]
    with pytest.raises(StageError, match="gate stage 'motion' has no output; it must be an "
                                         "earlier stage"):
        g.decide([_fake(3, 3, None)], stage_name="detect")


def test_gate_state_is_per_source_and_restarts() -> None:
    g = Gate(GateConfig(hold_s=5))
    assert g.decide([_fake(0, 0, {"active": 1}, source="a"), _fake(0, 0, {"active": 0},
                                                                   source="b")]) == [True, False]
    assert g.decide([_fake(1, 1, {"active": 0}, source="a")]) == [True]
    # the source starts again (time goes back): its hold is forgotten
    assert g.decide([_fake(0, 0, {"active": 0}, source="a")]) == [False]


def test_run_gated_skips_closed_frames() -> None:
    stage = Counting(CountingConfig(gate={"hold_s": 0}))
    batch = [_fake(i, i, {"active": float(i % 3 == 0)}) for i in range(7)]
    outs = run_gated(stage, batch)
    assert stage.seen == [0, 3, 6]
    assert [o.skipped for o in outs] == [False, True, True, False, True, True, False]
    assert outs[1] is SKIPPED and outs[1].to_json() == {"skipped": True}
    ungated = Counting(CountingConfig())
    assert run_gated(ungated, batch) and ungated.seen == list(range(7))


@pytest.mark.parametrize("option", [{"regions": True}, {"pad": 0.25}])
def test_region_options_are_gone(option: dict[str, Any]) -> None:
    """Removed in issue 12: no stage restricted its work to the regions (that is issue 17)."""
    with pytest.raises(ValidationError, match=f"{next(iter(option))}\n  Extra inputs"):
        GateConfig(**option)


def test_chain_runs_gated_stage_only_on_motion() -> None:
    chain = StageChain.from_configs([
        {"type": "motion", "warmup_frames": 5, "persist_frames": 1, "persist_s": 0,
         "release_frames": 0},
        {"type": "test_counting", "name": "heavy", "gate": {"stage": "motion", "hold_s": 0.2}},
    ])
    imgs = [room()] * 8 + [with_box(room(), 100, 60)] * 2 + [room()] * 8
    out = chain.process([r.frame for r in results(imgs)])
    heavy = chain.stages[1]
    assert heavy.seen == [8, 9, 10, 11]  # motion, then 0.2 s of hold
    assert [r.outputs["heavy"].skipped for r in out].count(True) == len(imgs) - 4


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ([{"type": "motion"}, {"type": "frame_stats", "gate": {}}], None),
        ([{"type": "motion", "name": "m"}, {"type": "frame_stats", "gate": {"stage": "m"}}],
         None),
        ([{"type": "frame_stats", "gate": {}}, {"type": "motion"}],
         "stages.0.gate.stage: 'motion' is not an earlier enabled stage (earlier: none)"),
        ([{"type": "motion", "enabled": False}, {"type": "frame_stats", "gate": {}}],
         "stages.1.gate.stage: 'motion' is not an earlier"),
    ],
)
def test_verify_gates(stages: list[dict[str, Any]], message: str | None) -> None:
    from streamcv.stages import build_stage
    from streamcv.stages.upstream import verify_upstream as verify_gates

    configs = [build_stage(s).config for s in stages]
    if message is None:
        verify_gates(configs)
    else:
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            verify_gates(configs)
