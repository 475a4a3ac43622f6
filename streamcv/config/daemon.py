"""Config sections of the live daemon: health/metrics endpoint, spool, retention.

Example:
    >>> parse_listen("127.0.0.1:9108")
    ('127.0.0.1', 9108)
    >>> HealthConfig(listen="0.0.0.0:9108", token="x" * 16).listen
    '0.0.0.0:9108'
"""

from __future__ import annotations

import ipaddress

from pydantic import Field, model_validator

from streamcv.strict import StrictModel

__all__ = ["HealthConfig", "SpoolConfig", "RetentionConfig", "parse_listen", "is_loopback"]


def parse_listen(listen: str) -> tuple[str, int]:
    """``"127.0.0.1:9108"`` → ``("127.0.0.1", 9108)``; ``"[::1]:9108"`` works too."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"health.listen must be HOST:PORT, got {listen!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name from ``HOST:PORT``) is this machine only (needs no token)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HealthConfig(StrictModel):
    listen: str | None = Field(
        "127.0.0.1:9108", description="HOST:PORT of the /metrics (Prometheus) and /healthz "
        "endpoint; null: off; port 0 picks a free one. A non-loopback host needs a token."
    )
    token: str | None = Field(
        None, min_length=16, description="Bearer token required by /metrics and /healthz "
        "(at least 16 characters)."
    )
    token_env: str | None = Field(
        None, description="Name of an environment variable holding the token (keeps it out of "
        "the config file)."
    )
    watchdog_interval_s: float = Field(
        0.5, gt=0, le=60, description="How often stalls are checked and gauges refreshed."
    )
    stall_loop_s: float = Field(
        60.0, gt=0, description="/healthz fails (503) when the processing loop has not turned "
        "for this long."
    )
    memory_trim_interval_s: float = Field(
        60.0, ge=0, description="How often the daemon hands free heap pages back to the OS "
        "(glibc malloc_trim), so that RSS stays flat over months; 0: never."
    )

    @model_validator(mode="after")
    def verify_token_off_loopback(self) -> HealthConfig:
        if self.listen:
            host, _ = parse_listen(self.listen)
            if not is_loopback(host) and not (self.token or self.token_env):
                raise ValueError(
                    f"health.listen {self.listen} is not a loopback address: set health.token "
                    "(or health.token_env) so that /metrics and /healthz need a bearer token"
                )
        return self


class SpoolConfig(StrictModel):
    enabled: bool = Field(
        True, description="When the database is unreachable, keep results on disk and replay "
        "them in order when it is back (daemon runs)."
    )
    dir: str | None = Field(
        None, description="Spool folder (default: $STREAMCV_HOME/spool/<database hash>)."
    )
    max_bytes: int = Field(
        512 << 20, ge=1 << 20, description="Disk bound; when full, new results are dropped and "
        "an error is logged every 10 s."
    )
    fsync: bool = Field(True, description="fsync each spooled batch (survives power loss).")
    retry_s: float = Field(1.0, gt=0, le=60, description="First retry of the database.")
    retry_max_s: float = Field(10.0, gt=0, le=600, description="Longest wait between retries.")


class RetentionConfig(StrictModel):
    results_days: float | None = Field(
        None, gt=0, description="Delete frames, observations, detections and events older than "
        "this, and the features' time-series rows (heat-map and scene-quality windows); "
        "null: keep."
    )
    health_days: float | None = Field(
        None, gt=0, description="Delete source state changes and gaps older than this."
    )
    downsample_after_days: float | None = Field(
        None, gt=0, description="Thin result rows older than this to one frame per "
        "downsample_every_s per source (null: no thinning)."
    )
    downsample_every_s: float = Field(60.0, gt=0, description="Interval kept when thinning.")
    media_days: float | None = Field(
        None, gt=0, description="Delete files in media_dirs older than this."
    )
    media_dirs: list[str] = Field(
        default_factory=list, description="Folders of snapshots and annotated media to prune "
        "(the output dir is included automatically)."
    )
    interval_s: float = Field(3600.0, ge=1, description="How often retention runs.")

    @model_validator(mode="after")
    def verify_ages(self) -> RetentionConfig:
        if (self.downsample_after_days is not None and self.results_days is not None
                and self.downsample_after_days >= self.results_days):
            raise ValueError("retention.downsample_after_days must be less than "
                             "retention.results_days (rows are deleted before they are thinned)")
        return self

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.results_days, self.health_days,
                                           self.downsample_after_days, self.media_days))
