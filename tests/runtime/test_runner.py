from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Literal

import pytest

from streamcv.errors import StageError
from streamcv.plugins import Feature, add_feature
from streamcv.runtime import Runner, StageChain
from streamcv.runtime.chain import MAX_CONSECUTIVE_STAGE_FAILURES
from streamcv.sinks.base import MemorySink
from streamcv.sources import build_source
from streamcv.stages.base import Stage, StageConfig, stage_type
from streamcv.types import FrameResult, StageOutput


class FlakyConfig(StageConfig):
    type: Literal["test_flaky"] = "test_flaky"
    fail_every: int = 0


@stage_type("test_flaky", FlakyConfig)
class Flaky(Stage[FlakyConfig]):
    """Fails on batches holding a frame whose index is a multiple of ``fail_every``."""

    def process(self, batch: Sequence[FrameResult]) -> list[StageOutput]:
        n = self.config.fail_every
        if n == -1 or (n and any(r.frame.index % n == 0 for r in batch)):
            raise RuntimeError("boom")
        return [StageOutput(metrics={"ok": 1.0}) for _ in batch]



add_feature(Feature(name="test_runner", stages=(Flaky,)))

def _synth(sid: str, seconds: float = 2, **kw: Any) -> Any:
    return build_source({"type": "synthetic", "id": sid, "seconds": seconds, "fps": 10,
                         "width": 64, "height": 48, **kw})


def test_all_frames_reach_sink_in_order_per_source() -> None:
    sink = MemorySink()
    summary = Runner([_synth("a"), _synth("b", 1)],
                     StageChain.from_configs([{"type": "frame_stats"}, {"type": "motion"}]),
                     [sink]).run()
    assert summary.frames == 30 and not summary.failed
    for sid, n in (("a", 20), ("b", 10)):
        idx = [r.frame.index for r in sink.results if r.frame.source_id == sid]
        assert idx == list(range(n))
    assert set(sink.results[0].outputs) == {"frame_stats", "motion"}
    assert sink.closed and {e.kind for e in sink.events} == {"source_ended"}


def test_failing_source_does_not_stop_others(tmp_path: Any) -> None:
    bad = build_source({"type": "file", "id": "bad", "path": str(tmp_path / "missing.mp4")})
    sink = MemorySink()
    summary = Runner([bad, _synth("good")], StageChain.from_configs([]), [sink]).run()
    assert summary.sources["good"].frames == 20
    assert "no such file" in (summary.sources["bad"].error or "")
    failed = [e for e in sink.events if e.kind == "source_failed"]
    assert [e.source_id for e in failed] == ["bad"]


def test_stage_failure_is_recorded_and_run_continues() -> None:
    sink = MemorySink()
    chain = StageChain.from_configs([{"type": "test_flaky", "fail_every": 7}])
    summary = Runner([_synth("a")], chain, [sink]).run()
    assert summary.frames == 20
    errors = [r for r in sink.results if r.outputs["test_flaky"].skipped]
    assert errors and all(r.outputs["test_flaky"].events[0].kind == "stage_error" for r in errors)
    assert chain.timing["test_flaky"].failures >= 1


def test_stage_failing_every_batch_is_fatal() -> None:
    chain = StageChain.from_configs([{"type": "test_flaky", "fail_every": -1}])
    with pytest.raises(StageError, match=f"{MAX_CONSECUTIVE_STAGE_FAILURES} batches in a row"):
        Runner([_synth("a", 10)], chain, [MemorySink()]).run()


def test_stop_drains_and_closes_sinks() -> None:
    sink = MemorySink()
    src = _synth("live", seconds=60, realtime=True)
    runner = Runner([src], StageChain.from_configs([{"type": "frame_stats"}]), [sink])
    threading.Timer(0.5, runner.stop).start()
    summary = runner.run()
    assert summary.interrupted and sink.closed
    assert 1 <= summary.frames < 600
    assert summary.sources["live"].state == "stopped"


class _Boom(MemorySink):
    def write(self, results: Sequence[FrameResult]) -> None:
        raise OSError("disk full")


def test_sink_error_propagates_after_cleanup() -> None:
    other = MemorySink()
    with pytest.raises(OSError, match="disk full"):
        Runner([_synth("a")], StageChain.from_configs([]), [_Boom(), other]).run()
    assert other.closed
