"""Settings: declared once in :data:`SETTINGS`, read by the CLI, ``--help``, README and loader.

Each :class:`Setting` has a name, a type, a default, the environment variable that sets it and a
help line. ``playhead serve --help`` and the README's configuration table are generated from the
same table (a test fails if the README drifts), and :func:`load_settings` resolves them with the
precedence: explicit value (CLI flag) > ``PLAYHEAD_*`` environment variable > default.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from playhead.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Setting:
    """One configuration setting: its name, type, default, environment variable and help line."""

    name: str
    type: type
    default: Any
    help: str

    @property
    def env(self) -> str:
        """The environment variable that sets this setting, e.g. ``PLAYHEAD_IDLE_TIMEOUT``."""
        return "PLAYHEAD_" + self.name.upper()

    @property
    def flag(self) -> str:
        """The command-line flag that sets this setting, e.g. ``--idle-timeout``."""
        return "--" + self.name.replace("_", "-")


SETTINGS: tuple[Setting, ...] = (
    Setting("host", str, "127.0.0.1", "Interface to listen on."),
    Setting("port", int, 8000, "TCP port to listen on."),
    Setting("db", str, "playhead.db", "SQLite file (created if missing) or postgresql:// URL."),
    Setting("prefix", str, "", "Extra path prefix for the Collection API, e.g. /va."),
    Setting("workers", int, 1, "Worker processes on one port (above 1 needs --state redis://)."),
    Setting("strict", bool, False, "Refuse sessions lacking account/player keys (protocol 400)."),
    Setting("idle_timeout", float, 600.0, "Seconds without any event before a session closes."),
    Setting("stall_timeout", float, 1800.0, "Seconds of event time with an unchanged playhead."),
    Setting("max_duration", float, 86400.0, "Seconds of event time after sessionStart to close."),
    Setting(
        "end_grace", float, 10.0, "Seconds after sessionEnd that earlier-stamped events count."
    ),
    Setting("sweep_interval", float, 1.0, "Seconds between sweeps that close timed-out sessions."),
    Setting("max_event_bytes", int, 65536, "Largest accepted body of one event, in bytes."),
    Setting(
        "max_batch_bytes", int, 4194304, "Largest accepted downloaded-content batch, in bytes."
    ),
    Setting("queue_size", int, 20000, "Write queue capacity; when full, events get 503."),
    Setting(
        "max_open_sessions", int, 1_000_000, "Most sessions open at once; past it, starts get 503."
    ),
    Setting("storage_timeout", float, 5.0, "Seconds a storage call may take before a 503."),
    Setting("max_header_bytes", int, 16384, "Largest request line plus headers (414/431 above)."),
    Setting("header_timeout", float, 10.0, "Seconds a client may take to send request headers."),
    Setting("batch_size", int, 2000, "Most events committed in one transaction (group commit)."),
    Setting("sqlite_sync", str, "NORMAL", "SQLite synchronous mode: NORMAL or FULL (power loss)."),
    Setting(
        "summary_interval", float, 60.0, "Seconds between refreshes of open-session summaries."
    ),
    Setting("log_level", str, "warning", "Log level: debug, info, warning, error or critical."),
    # operations (issue 12)
    Setting("log_format", str, "text", "Log line format: text or json (one object per line)."),
    Setting("stats_interval", float, 60.0, "Seconds between info log lines of traffic figures."),
    Setting("drain_timeout", float, 10.0, "Seconds SIGTERM may take to drain before exiting."),
    Setting("retention_days", float, 0.0, "Days raw events of closed sessions are kept (0: ever)."),
    Setting(
        "summary_retention_days", float, 0.0, "Days closed sessions' summaries are kept (0: ever)."
    ),
    Setting("retention_interval", float, 60.0, "Seconds between retention passes."),
    Setting("store_ip", str, "none", "Client addresses: none, or truncated (/24, /48) stored."),
    Setting(
        "report_engine", str, "columns", "Reports over many sessions: columns (in memory) or sql."
    ),
    Setting(
        "report_columns_from", int, 10000, "Stored sessions from which reports use the columns."
    ),
    Setting("read_token", str, "", "Token(s) for reports, exports, dashboard (comma-separated)."),
    Setting("public_reports", bool, False, "Serve reports off loopback without a read token."),
    Setting(
        "admin_token", str, "", "Token(s) for admin actions such as deletion (comma-separated)."
    ),
    Setting("geoip_db", str, "", "MaxMind .mmdb file giving sessions geo.country/geo.region."),
    Setting(
        "trusted_proxies",
        str,
        "",
        "Proxies (IPs/CIDRs, comma-separated) whose X-Forwarded-For is believed.",
    ),
    Setting("tls_certfile", str, "", "PEM certificate (chain): serve HTTPS (with --tls-keyfile)."),
    Setting("tls_keyfile", str, "", "PEM private key of --tls-certfile."),
    Setting(
        "edge_cors_credentials",
        bool,
        False,
        "Edge API: echo Origin, allow credentials (the Adobe Web SDK needs it).",
    ),
    Setting("state", str, "memory", "Live session state: memory (one process) or a redis:// URL."),
    Setting("node_id", str, "", "This process's name in logs (default: host name and port)."),
)

SETTINGS_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Resolved configuration of one server; build it with :func:`load_settings`.

    Usage::

        settings = load_settings({"db": "/tmp/x.db", "idle_timeout": 2})
    """

    host: str = "127.0.0.1"
    port: int = 8000
    db: str = "playhead.db"
    prefix: str = ""
    workers: int = 1
    strict: bool = False
    idle_timeout: float = 600.0
    stall_timeout: float = 1800.0
    max_duration: float = 86400.0
    end_grace: float = 10.0
    sweep_interval: float = 1.0
    max_event_bytes: int = 65536
    max_batch_bytes: int = 4194304
    queue_size: int = 20000
    max_open_sessions: int = 1_000_000
    storage_timeout: float = 5.0
    max_header_bytes: int = 16384
    header_timeout: float = 10.0
    batch_size: int = 2000
    sqlite_sync: str = "NORMAL"
    summary_interval: float = 60.0
    log_level: str = "warning"
    log_format: str = "text"
    stats_interval: float = 60.0
    drain_timeout: float = 10.0
    retention_days: float = 0.0
    summary_retention_days: float = 0.0
    retention_interval: float = 60.0
    store_ip: str = "none"
    report_engine: str = "columns"
    report_columns_from: int = 10000
    read_token: str = ""
    public_reports: bool = False
    admin_token: str = ""
    geoip_db: str = ""
    trusted_proxies: str = ""
    tls_certfile: str = ""
    tls_keyfile: str = ""
    edge_cors_credentials: bool = False
    state: str = "memory"
    node_id: str = ""


def _convert(setting: Setting, raw: Any) -> Any:
    """Convert a raw value (CLI or environment string) to the setting's type."""
    if isinstance(raw, setting.type) and not (setting.type is int and isinstance(raw, bool)):
        return raw
    try:
        if setting.type is bool:
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(text)
        return setting.type(raw)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{setting.name} ({setting.env}): expected {setting.type.__name__}, got {raw!r}"
        ) from None


def _validate(values: dict[str, Any]) -> None:
    """Reject values that are well-typed but meaningless."""
    for name in (
        "idle_timeout",
        "stall_timeout",
        "max_duration",
        "sweep_interval",
        "storage_timeout",
        "header_timeout",
    ):
        if values[name] <= 0:
            raise ConfigError(f"{name} must be greater than 0, got {values[name]}")
    for name in (
        "max_event_bytes",
        "max_batch_bytes",
        "queue_size",
        "batch_size",
        "workers",
        "max_open_sessions",
    ):
        if values[name] < 1:
            raise ConfigError(f"{name} must be at least 1, got {values[name]}")
    if values["max_header_bytes"] < 1024:
        raise ConfigError(
            f"max_header_bytes must be at least 1024, got {values['max_header_bytes']}"
        )
    if values["end_grace"] < 0:
        raise ConfigError(f"end_grace must not be negative, got {values['end_grace']}")
    if values["sqlite_sync"].upper() not in ("NORMAL", "FULL"):
        raise ConfigError(f"sqlite_sync must be NORMAL or FULL, got {values['sqlite_sync']!r}")
    values["sqlite_sync"] = values["sqlite_sync"].upper()
    if not 1 <= values["port"] <= 65535:
        raise ConfigError(f"port must be from 1 to 65535, got {values['port']}")
    log_level = values["log_level"].strip().lower()
    if log_level not in ("debug", "info", "warning", "error", "critical"):
        raise ConfigError(
            "log_level must be one of debug, info, warning, error, critical, "
            f"got {values['log_level']!r}"
        )
    values["log_level"] = log_level
    _validate_operations(values)
    state = values["state"].strip()
    if state.lower() == "memory":
        state = "memory"
    elif not state.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"state must be memory or a redis:// URL, got {values['state']!r}")
    values["state"] = state
    prefix = values["prefix"].strip("/")
    values["prefix"] = "/" + prefix if prefix else ""
    if bool(values["tls_certfile"]) != bool(values["tls_keyfile"]):
        raise ConfigError("tls_certfile and tls_keyfile go together: set both or neither")
    for name in ("tls_certfile", "tls_keyfile"):
        if values[name] and not os.path.isfile(values[name]):
            raise ConfigError(f"{name}: no such file {values[name]!r}")


def _validate_operations(values: dict[str, Any]) -> None:
    """Reject meaningless values of the operations settings (logs, drain, retention, IPs)."""
    for name in ("stats_interval", "drain_timeout", "retention_interval"):
        if values[name] <= 0:
            raise ConfigError(f"{name} must be greater than 0, got {values[name]}")
    for name in ("retention_days", "summary_retention_days"):
        if values[name] < 0:
            raise ConfigError(f"{name} must not be negative (0 keeps forever), got {values[name]}")
    if (least := values["report_columns_from"]) < 0:
        raise ConfigError(f"report_columns_from must not be negative (0: always), got {least}")
    if (
        values["summary_retention_days"]
        and values["retention_days"]
        and values["summary_retention_days"] < values["retention_days"]
    ):
        raise ConfigError("summary_retention_days must not be shorter than retention_days")
    for name, allowed in (
        ("log_format", ("text", "json")),
        ("store_ip", ("none", "truncated")),
        ("report_engine", ("columns", "sql")),
    ):
        value = str(values[name]).strip().lower()
        if value not in allowed:
            raise ConfigError(f"{name} must be {' or '.join(allowed)}, got {values[name]!r}")
        values[name] = value


def load_settings(
    explicit: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Resolve every setting from explicit values, then ``PLAYHEAD_*`` variables, then defaults."""
    explicit = explicit or {}
    environ = os.environ if environ is None else environ
    unknown = set(explicit) - set(SETTINGS_BY_NAME)
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if explicit.get(setting.name) is not None:
            values[setting.name] = _convert(setting, explicit[setting.name])
        elif setting.env in environ:
            values[setting.name] = _convert(setting, environ[setting.env])
        else:
            values[setting.name] = setting.default
    _validate(values)
    return Settings(**values)


def settings_table_markdown() -> str:
    """The README's configuration table, generated from :data:`SETTINGS`."""
    lines = [
        "| Flag | Environment variable | Default | Meaning |",
        "|---|---|---|---|",
    ]
    for s in SETTINGS:
        default = (
            "(none)" if s.default == "" else str(s.default).lower() if s.type is bool else s.default
        )
        lines.append(f"| `{s.flag}` | `{s.env}` | `{default}` | {s.help} |")
    return "\n".join(lines)
