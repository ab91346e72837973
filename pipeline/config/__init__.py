"""The configuration file `codesets.toml`, parsed into frozen dataclasses."""

from __future__ import annotations

from pipeline.config.load import (
    Config as Config,
)
from pipeline.config.load import (
    load_config as load_config,
)
from pipeline.config.load import (
    parse_config as parse_config,
)
from pipeline.spec import (
    CodeSetSpec as CodeSetSpec,
)
from pipeline.spec import (
    Edition as Edition,
)
from pipeline.spec import (
    FeedSettings as FeedSettings,
)
from pipeline.spec import (
    GuardLimits as GuardLimits,
)
from pipeline.spec import (
    ReaderSpec as ReaderSpec,
)
from pipeline.spec import (
    check_name as check_name,
)
