"""The code-set kinds, one package each, found by looking: adding a kind is adding a
package with a `KIND` under `pipeline/codesets/`, and touching nothing else."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

from pipeline.codesets.kind import Format, Kind
from pipeline.errors import ConfigError
from pipeline.spec import CodeSetSpec


@cache
def kinds() -> Mapping[str, Kind]:
    """Kind name -> kind, for every package here that declares a `KIND`."""
    found: dict[str, Kind] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.ispkg:
            kind = getattr(importlib.import_module(f"{__name__}.{module.name}"), "KIND", None)
            if isinstance(kind, Kind):
                found[kind.name] = kind
    return MappingProxyType(dict(sorted(found.items())))


def kind_of(spec: CodeSetSpec) -> Kind:
    """The kind a code set declares."""
    try:
        return kinds()[spec.kind]
    except KeyError:
        known = ", ".join(kinds())
        raise ConfigError(
            f"code set {spec.id!r}: unknown kind {spec.kind!r} (known: {known})"
        ) from None


@cache
def builtin() -> Mapping[str, CodeSetSpec]:
    """The code sets the pipeline knows without a configuration file, by id."""
    return MappingProxyType({k.spec.id: k.spec for k in kinds().values() if k.spec is not None})


@cache
def formats() -> Mapping[str, Format]:
    """Every reader format of every kind, by name."""
    return MappingProxyType({f.name: f for k in kinds().values() for f in k.formats})


#: Options `auto` accepts (passed on to the detected format's reader).
AUTO_OPTIONS = frozenset({"headers"})


def reader_options() -> dict[str, frozenset[str]]:
    """Format name -> the options it accepts under `[codesets.X.reader]`."""
    return {"auto": AUTO_OPTIONS, **{name: f.options for name, f in formats().items()}}
