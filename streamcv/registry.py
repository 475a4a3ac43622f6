"""A tiny typed name → class registry used for stages and sources.

Each entry pairs a class with its pydantic config model; the config models of all entries form a
discriminated union on their ``type`` field, so a config names its component by ``type:``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any, Generic, TypeVar, Union

from pydantic import Field

from streamcv.errors import UnknownNameError

__all__ = ["Registry", "Entry"]

T = TypeVar("T")
E = TypeVar("E")


class Entry(Generic[E]):
    """One registered name: its class and its config model."""

    def __init__(self, name: str, cls: type[E], config: type[Any]) -> None:
        self.name, self.cls, self.config = name, cls, config


class Registry(Generic[T]):
    """Registry of component classes keyed by their config's ``type`` literal.

    Example:
        >>> from typing import Literal
        >>> from streamcv.strict import StrictModel
        >>> reg: Registry[object] = Registry("widget")
        >>> class WConf(StrictModel):
        ...     type: Literal["w"] = "w"
        >>> @reg.register("w", WConf)
        ... class W: ...
        >>> reg.get("w").cls is W
        True
    """

    def __init__(
        self,
        kind: str,
        loader: Callable[[], Iterable[tuple[str, type[T], type[Any]]]] | None = None,
    ) -> None:
        self.kind = kind
        self._own: dict[str, Entry[T]] = {}
        self._loader = loader
        self._loaded: dict[str, Entry[T]] | None = None

    @property
    def _entries(self) -> dict[str, Entry[T]]:
        if self._loader is None:
            return self._own
        if self._loaded is None:
            loaded = dict(self._own)
            for name, cls, config in self._loader():
                if name in loaded:
                    raise ValueError(f"{self.kind} {name!r} registered twice")
                loaded[name] = Entry(name, cls, config)
            self._loaded = loaded
        return self._loaded

    def reload(self) -> None:
        """Forget what the loader gave; the next lookup asks it again."""
        self._loaded = None

    def register(self, name: str, config: type[Any]) -> Callable[[type[T]], type[T]]:
        def deco(cls: type[T]) -> type[T]:
            if name in self._own:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._own[name] = Entry(name, cls, config)
            self._loaded = None
            return cls

        return deco

    def get(self, name: str) -> Entry[T]:
        entries = self._entries
        try:
            return entries[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, list(entries)) from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def config_union(self) -> Any:
        """The discriminated union of all registered config models (for pydantic fields)."""
        models = tuple(e.config for e in self._entries.values())
        if len(models) == 1:
            return models[0]
        return Annotated[Union[models], Field(discriminator="type")]  # noqa: UP007
