"""The application config: database, runtime, pipeline and sources.

Models are strict (unknown keys are errors) and every field documents itself. Stage and source
entries are discriminated unions on ``type`` built from the registries, so a stage added to the
registry is configurable without touching this file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

import streamcv.sources as _sources
import streamcv.stages as _stages
from streamcv.config.daemon import HealthConfig, RetentionConfig, SpoolConfig
from streamcv.config.presets import resolve_pipeline_path
from streamcv.config.yamlio import load_yaml, validate
from streamcv.errors import ConfigError, UnknownNameError
from streamcv.stages.upstream import verify_upstream
from streamcv.strict import StrictModel

__all__ = [
    "DatabaseConfig", "RuntimeConfig", "OutputConfig", "PipelineConfig", "AppConfig",
    "HealthConfig", "SpoolConfig", "RetentionConfig",
    "StageConfigUnion", "SourceConfigUnion", "load_config", "load_pipeline",
]

if TYPE_CHECKING:  # what the checker sees: every stage config is a StageConfig
    from streamcv.sources.file import FileSourceConfig
    from streamcv.sources.images import ImagesSourceConfig
    from streamcv.sources.live import RtspSourceConfig, WebcamSourceConfig
    from streamcv.sources.synthetic import SyntheticSourceConfig
    from streamcv.stages import StageConfig

    StageConfigUnion = StageConfig
    SourceConfigUnion = (FileSourceConfig | ImagesSourceConfig | RtspSourceConfig
                         | WebcamSourceConfig | SyntheticSourceConfig)
else:  # what pydantic validates: the discriminated unions of the registries
    StageConfigUnion = _stages.STAGES.config_union()
    SourceConfigUnion = _sources.SOURCES.config_union()


class DatabaseConfig(StrictModel):
    url: str = Field("sqlite:///streamcv.db", description="SQLAlchemy URL of the results store.")
    batch_size: int = Field(500, ge=1, le=100_000, description="Rows per write transaction.")
    flush_interval_s: float = Field(0.5, gt=0, le=60, description="Longest wait before a write.")


class RuntimeConfig(StrictModel):
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="Where model stages run; auto = cuda when available."
    )
    max_batch: int = Field(8, ge=1, le=256, description="Frames per stage batch (across sources).")
    max_wait_ms: float = Field(
        10.0, ge=0, le=10_000, description="Longest wait for a batch to fill before running it."
    )
    queue_size: int = Field(16, ge=1, le=4096, description="Frames buffered per source.")
    live_queue_size: int = Field(
        4, ge=1, le=4096, description="Frames buffered per live source (rtsp, webcam); the "
        "oldest is dropped when full, which bounds frame age when stages are slower than the "
        "camera."
    )


class OutputConfig(StrictModel):
    """Annotated snapshots of ``streamcv run`` and ``streamcv replay --config``
    (:class:`streamcv.sinks.snapshots.SnapshotSink`)."""

    dir: str | None = Field(
        None, description="Folder for annotated snapshots, <dir>/<source>/<UTC time>.jpg (None: "
        "none); the daemon's retention.media_days prunes it.")
    annotate_every_s: float = Field(
        0.0, ge=0, description="Save at most one annotated frame per source per this many "
        "seconds of media time, each stage drawing its output on it (0: none; needs dir)."
    )

    @model_validator(mode="after")
    def verify_dir_for_snapshots(self) -> OutputConfig:
        if self.annotate_every_s > 0 and not self.dir:
            raise ValueError("annotate_every_s needs output.dir (the folder for the snapshots)")
        return self


class PipelineConfig(StrictModel):
    name: str = Field("custom", description="Pipeline name stored with each run.")
    description: str = ""
    stages: list[StageConfigUnion] = Field(default_factory=list)

    @field_validator("stages")
    @classmethod
    def verify_unique_stage_names(cls, stages: list[Any]) -> list[Any]:
        seen: set[str] = set()
        for i, stage in enumerate(stages):
            if stage.stage_name in seen:
                raise ValueError(
                    f"stages.{i}: stage name {stage.stage_name!r} is used twice; give each a "
                    "unique 'name'"
                )
            seen.add(stage.stage_name)
        verify_upstream(stages)
        return stages


class AppConfig(StrictModel):
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    runtime: RuntimeConfig = Field(default_factory=RuntimeConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    health: HealthConfig = Field(
        default_factory=HealthConfig,
        description="Daemon health: /metrics and /healthz endpoint, stall watchdog.",
    )
    spool: SpoolConfig = Field(
        default_factory=SpoolConfig,
        description="On-disk spool for results while the database is unreachable (daemon).",
    )
    retention: RetentionConfig = Field(
        default_factory=RetentionConfig,
        description="Deleting and thinning old rows and media (daemon; off by default).",
    )
    pipeline: str | PipelineConfig = Field(
        "surveillance", description="A preset name from pipelines/, a YAML path, or inline stages."
    )
    sources: list[SourceConfigUnion] = Field(default_factory=list)

    @field_validator("sources")
    @classmethod
    def verify_unique_source_ids(cls, sources: list[Any]) -> list[Any]:
        ids = [s.id for s in sources]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"source ids must be unique; repeated: {', '.join(dup)}")
        return sources


def load_pipeline(name_or_path: str) -> PipelineConfig:
    """Load a preset by name or a pipeline YAML file."""
    path = resolve_pipeline_path(name_or_path)
    return validate(PipelineConfig, load_yaml(path), file=str(path))


def load_config(path: str | Path) -> tuple[AppConfig, PipelineConfig]:
    """Load and validate an app config, resolving its pipeline preset."""
    data = load_yaml(path)
    cfg = validate(AppConfig, data, file=str(path))
    if isinstance(cfg.pipeline, PipelineConfig):
        return cfg, cfg.pipeline
    try:
        return cfg, load_pipeline(cfg.pipeline)
    except UnknownNameError as exc:
        line = data.lc.key("pipeline")[0] + 1 if data and "pipeline" in data else None
        raise ConfigError(str(exc), key="pipeline", line=line, file=str(path)) from exc
