"""The running server's state, stored on the app under one typed key.

The fixture index is replaced as a whole on reload (an atomic reference swap): a request reads
`state.index` once and finishes on that snapshot even if a reload lands meanwhile.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from aiohttp import web
from pydantic import BaseModel

from aimock.auth import InboundKeys
from aimock.chaos import ActivePolicy, activate
from aimock.fixtures.compiled import PROFILES, Extend, ServerDefaults
from aimock.fixtures.loading import FixtureSet, SourcedFixture
from aimock.fixtures.matching import FixtureIndex, MatchState
from aimock.journal import Journal
from aimock.metrics import Metrics
from aimock.models.base import Section, SpecT
from aimock.models.fixture import ChaosRates, StreamingProfile
from aimock.models.services import SECTIONS
from aimock.models.stack import StackSpec
from aimock.recording.options import RecordOptions
from aimock.tls import TLSOptions


@dataclass(frozen=True)
class ServeOptions:
    """What the user asked for on the command line or in Python; None means "not given",
    so a MockStack document loaded from the fixture paths decides instead."""

    paths: Sequence[Path] = ()
    strict: bool | None = None
    profile: str | StreamingProfile | None = None  # a name of PROFILES, or one of its own
    latency: float | None = None
    chunk_size: int | None = None
    replay_speed: float | None = None
    journal_max: int | None = None
    # What the journal keeps of request bodies: each one's start, and all of them together.
    journal_max_body_bytes: int = 1024 * 1024
    journal_max_total_bytes: int = 64 * 1024 * 1024
    chaos: ChaosRates | None = None
    chaos_seed: int | None = None
    admin_token: str | None = None
    # The address the server binds (None: loopback), and whether the control API stays open
    # without a token when that address is reachable from the network (`--open-control`).
    host: str | None = None
    open_control: bool = False
    # Seconds a connection may sit idle, take to send a request's headers, or go without a
    # byte of a body it is sending, before it is closed (`--idle-timeout`): stalled and
    # half-sent requests do not hold sockets and handlers forever.
    idle_timeout: float = 15.0
    max_body_bytes: int = 10 * 1024 * 1024
    # Extra OpenAI base paths (`--openai-prefix`), added to the stack spec's `openaiPrefixes`.
    openai_prefixes: tuple[str, ...] = ()
    # Service sections by key, from AIMock's aimock.json (`-c`); they replace the stack spec's.
    sections: Mapping[str, BaseModel] = field(default_factory=dict)
    # Record or proxy mode (`--record`, `--proxy-only`): a miss goes to the real provider.
    record: RecordOptions | None = None
    # HTTPS and WSS (`--tls`, `--tls-cert`..., `MockServer(tls=...)`); None: the stack spec's
    # `tls` decides (`aimock.tls.wanted`). Read at start, like the bound address.
    tls: TLSOptions | None = None
    # Inbound API keys (`--api-key`, `AIMOCK_API_KEYS`, aimock.json's `auth`); None: the
    # stack spec's `apiKeys` decide.
    api_keys: InboundKeys | None = None


@dataclass(frozen=True)
class Settings:
    """The settings in force: the options, filled in from the stack spec, then defaults."""

    strict: bool = False
    defaults: ServerDefaults = field(default_factory=ServerDefaults)
    journal_max: int = 1000
    # Seeds the server's chaos draws (`--chaos-seed`, `spec.chaosSeed`): the same requests
    # see the same faults run after run.
    chaos_seed: int | None = None
    admin_token: str | None = None
    max_body_bytes: int = 10 * 1024 * 1024
    # Surface names (openai.chat) or provider families (openai) served; None serves all.
    surfaces: frozenset[str] | None = None
    # Extra base paths for the OpenAI routes; routes are built once, so a reload that changes
    # them takes effect at the next start.
    openai_prefixes: tuple[str, ...] = ()
    # Every service's section (`mcp`, `a2a`, `vector`...), by key; read with `section()`.
    sections: Mapping[str, BaseModel] = field(default_factory=dict)
    # The keys a request must carry one of (`aimock.auth`); None: no key is asked for.
    api_keys: InboundKeys | None = None

    def serves(self, surface: str, provider: str) -> bool:
        return self.surfaces is None or surface in self.surfaces or provider in self.surfaces

    def section(self, section: Section[SpecT]) -> SpecT:
        """A service's section in force: aimock.json's, else the stack spec's, else empty."""
        value = self.sections.get(section.key)
        return value if isinstance(value, section.model) else section.model()


def resolve(options: ServeOptions, stack: StackSpec | None) -> Settings:
    spec = stack or StackSpec()
    profile_value = options.profile if options.profile is not None else spec.profile
    profile = PROFILES[profile_value] if isinstance(profile_value, str) else profile_value
    return Settings(
        strict=options.strict if options.strict is not None else spec.strict,
        defaults=ServerDefaults(
            profile=profile,
            latency=options.latency if options.latency is not None else spec.latency,
            chunk_size=options.chunk_size if options.chunk_size is not None else spec.chunk_size,
            chaos=options.chaos if options.chaos is not None else spec.chaos,
            replay_speed=options.replay_speed or 1.0,
        ),
        journal_max=options.journal_max if options.journal_max is not None else spec.journal_max,
        chaos_seed=options.chaos_seed if options.chaos_seed is not None else spec.chaos_seed,
        admin_token=options.admin_token,
        max_body_bytes=options.max_body_bytes,
        surfaces=frozenset(spec.surfaces) if spec.surfaces is not None else None,
        # Flags first, then the spec's; each once, in order.
        openai_prefixes=tuple(
            dict.fromkeys((*options.openai_prefixes, *(spec.openai_prefixes or ())))
        ),
        sections=_sections(options, spec),
        api_keys=options.api_keys
        if options.api_keys is not None
        else (InboundKeys(spec.api_keys, "spec.apiKeys") if spec.api_keys else None),
    )


def _sections(options: ServeOptions, spec: StackSpec) -> dict[str, BaseModel]:
    """Each service section given: aimock.json's (`-c`) replaces the stack spec's."""
    given: dict[str, BaseModel] = {}
    for section in SECTIONS:
        value = options.sections.get(section.key) or spec.section(section)
        if value is not None:
            given[section.key] = value
    return given


@dataclass
class OneShotError:
    status: int
    message: str
    type: str
    code: str | None


T = TypeVar("T")


class ServerState:
    def __init__(
        self, options: ServeOptions, loaded: FixtureSet, extend: Sequence[Extend] = ()
    ) -> None:
        self.options = options
        # The providers' reply extensions, compiled into every index this state builds.
        self.extend = tuple(extend)
        self.settings = resolve(options, loaded.stack)
        settings = self.settings
        self.journal = Journal(
            settings.journal_max, options.journal_max_body_bytes, options.journal_max_total_bytes
        )
        self.metrics = Metrics()
        self.match_state = MatchState()
        self.rng = random.Random(self.settings.chaos_seed)
        # Chaos set at run time per test id (`/__aimock/chaos`): it replaces the server's
        # rates for that test's requests.
        self.chaos_overrides: dict[str, ChaosRates] = {}
        self.loaded = loaded
        # Without paths there is nothing to re-read: the set given at start is what a reload
        # or a full reset restores.
        self.initial = loaded
        self.runtime_fixtures: list[SourcedFixture] = []
        # Fixtures ever added at run time. It numbers their sources, which key sequence
        # positions: a fixture added after a clear must not inherit the position of the one
        # that had its number before.
        self.runtime_added = 0
        self.one_shot_errors: list[OneShotError] = []
        # Requests each fixture answered since the start or the last reset, by its source.
        self.fixture_hits: Counter[str] = Counter()
        self.chaos_policies: list[ActivePolicy] = []
        # The open WebSockets by surface name (`aimock.sockets.Link`s): counted against the
        # server's cap, closed when it stops.
        self.sockets: dict[str, set[Any]] = {}
        # What providers keep between requests (stored responses, uploaded files, jobs), each
        # under its own key (`keep`); a full reset forgets it.
        self.kept: dict[str, Any] = {}
        self.index = self._build(loaded, [])
        self.metrics.fixtures_loaded = len(self.index)

    @property
    def strict(self) -> bool:
        return self.settings.strict

    @property
    def server_chaos(self) -> ChaosRates | None:
        return self.settings.defaults.chaos

    @property
    def chaos_seed(self) -> int | None:
        return self.settings.chaos_seed

    def chaos_for(self, test_id: str) -> ChaosRates | None:
        """The server's chaos for one test's requests: its runtime override, else the
        baseline."""
        if self.chaos_overrides:
            return self.chaos_overrides.get(test_id, self.settings.defaults.chaos)
        return self.settings.defaults.chaos

    @property
    def models(self) -> list[str]:
        return self.index.models

    @property
    def max_body_bytes(self) -> int:
        return self.settings.max_body_bytes

    @property
    def chunk_size(self) -> int:
        return self.settings.defaults.chunk_size

    def keep(self, key: str, make: Callable[[], T]) -> T:
        """What is kept under `key` between requests, made by `make` on first use."""
        found = self.kept.get(key)
        if found is None:
            found = self.kept[key] = make()
        return cast(T, found)

    def _build(
        self,
        loaded: FixtureSet,
        runtime: list[SourcedFixture],
        settings: Settings | None = None,
    ) -> FixtureIndex:
        digest_source = FixtureSet(fixtures=[*loaded.fixtures, *runtime])
        index = FixtureIndex(
            [*loaded.fixtures, *runtime],
            (settings or self.settings).defaults,
            digest_source.digest,
            self.extend,
        )
        self.chaos_policies = activate(loaded.chaos_policies, self.chaos_policies)
        return index

    def swap(self, loaded: FixtureSet) -> None:
        """Serve a new file set (keeping fixtures added at run time after it)."""
        # Built before anything is assigned: a set that fails to build changes nothing.
        settings = resolve(self.options, loaded.stack)
        index = self._build(loaded, self.runtime_fixtures, settings)
        self.settings, self.loaded, self.index = settings, loaded, index
        self.metrics.fixtures_loaded = len(index)

    def add_runtime(self, fixtures: list[SourcedFixture]) -> None:
        self.runtime_fixtures = [*self.runtime_fixtures, *fixtures]
        self.runtime_added += len(fixtures)
        self.index = self._build(self.loaded, self.runtime_fixtures)
        self.metrics.fixtures_loaded = len(self.index)

    def clear_fixtures(self) -> None:
        self.runtime_fixtures = []
        self.loaded = FixtureSet(files=self.loaded.files)
        self.index = self._build(self.loaded, [])
        self.metrics.fixtures_loaded = 0


STATE: web.AppKey[ServerState] = web.AppKey("aimock_state", ServerState)
