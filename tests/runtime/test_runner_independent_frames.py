"""Sources with independent frames (still images): the runner makes the stages forget the
source's state before each frame, even when several of its frames share a batch; a sequence of
images and other sources keep their state."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from media import shared_data

from streamcv.config.models import RuntimeConfig
from streamcv.plugins import Feature, add_feature
from streamcv.runtime import Runner, StageChain
from streamcv.sinks.base import MemorySink
from streamcv.sources import build_source
from streamcv.stages.base import Stage, StageConfig, stage_type
from streamcv.types import FrameResult, StageOutput


class SeenConfig(StageConfig):
    type: Literal["test_seen"] = "test_seen"


@stage_type("test_seen", SeenConfig)
class Seen(Stage[SeenConfig]):
    """Counts the frames of each source since its state was last reset (a stateful stage)."""

    def __init__(self, config: SeenConfig) -> None:
        super().__init__(config)
        self.seen: dict[str, int] = {}
        self.batch_sizes: list[int] = []

    def process(self, batch: Sequence[FrameResult]) -> list[StageOutput]:
        self.batch_sizes.append(len(batch))
        outs = []
        for r in batch:
            n = self.seen[r.frame.source_id] = self.seen.get(r.frame.source_id, 0) + 1
            outs.append(StageOutput(metrics={"seen": float(n)}))
        return outs

    def reset(self, source_id: str) -> None:
        self.seen.pop(source_id, None)


add_feature(Feature(name="test_runner_independent", stages=(Seen,)))


def _images() -> list[str]:
    folder = shared_data() / "persons" / "cctv" / "images"
    paths = sorted(folder.glob("cctv_train_1-*.jpg"))[:4]
    assert len(paths) == 4
    return [str(p) for p in paths]


def _run(*sources: Any) -> tuple[dict[str, list[float]], Seen]:
    chain = StageChain.from_configs([{"type": "test_seen"}])
    sink = MemorySink()
    # a long wait: frames queue up and batches hold several images of the same source
    Runner(list(sources), chain, [sink], RuntimeConfig(max_batch=16, max_wait_ms=300)).run()
    seen: dict[str, list[float]] = {}
    for r in sink.results:
        seen.setdefault(r.frame.source_id, []).append(r.outputs["test_seen"].metrics["seen"])
    stage = chain.stages[0]
    assert isinstance(stage, Seen)
    return seen, stage


def test_independent_images_start_afresh_while_a_video_keeps_its_state(tmp_path: Path) -> None:
    stills = build_source({"type": "images", "id": "stills", "paths": _images()})
    assert stills.independent_frames
    video = build_source({"type": "synthetic", "id": "video", "seconds": 1, "fps": 10,
                          "width": 64, "height": 48})
    seen, stage = _run(stills, video)
    assert seen["stills"] == [1.0] * 4
    assert seen["video"] == [float(i) for i in range(1, 11)]
    assert sum(stage.batch_sizes) == 14


def test_a_sequence_of_images_keeps_state_across_them() -> None:
    stills = build_source({"type": "images", "id": "seq", "paths": _images(), "sequence": True})
    assert not stills.independent_frames
    seen, _ = _run(stills)
    assert seen["seq"] == [1.0, 2.0, 3.0, 4.0]
