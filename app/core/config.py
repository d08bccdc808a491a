"""All settings, read from the environment (prefix NIGRAN_, except DATABASE_URL)."""

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NIGRAN_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{PROJECT_ROOT / 'var' / 'nigran.db'}",
        validation_alias=AliasChoices("DATABASE_URL", "NIGRAN_DATABASE_URL"),
        description="SQLAlchemy URL: sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db.",
    )
    pool_size: int = Field(
        default=5,
        description="PostgreSQL connections kept open per process; 2 cores gain nothing from more.",
    )
    pool_max_overflow: int = Field(
        default=5, description="Extra PostgreSQL connections under bursts."
    )
    db_connect_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="Seconds to wait for a new PostgreSQL connection before the request is "
        "answered 503 (database unavailable).",
    )
    db_command_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Seconds one PostgreSQL statement (or the pool's liveness ping) may take "
        "before it is abandoned and the request answered 503: a hung server or a cut network "
        "otherwise holds a request forever.",
    )
    db_pool_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a request waits for a free pooled connection before a 503. Under "
        "overload requests queue here; shorter sheds load sooner, as 503s.",
    )
    sqlite_busy_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a SQLite write waits for another writer's lock before a 503 "
        "(database is locked).",
    )
    db_retry_after_seconds: int = Field(
        default=5,
        ge=1,
        description="Retry-After sent with a 503 while the database is unavailable.",
    )
    cache: bool = Field(
        default=True,
        description="Keep anonymous GET responses in memory until the data changes "
        "(NIGRAN_CACHE=off to build every response afresh).",
    )
    cache_megabytes: int = Field(
        default=64, gt=0, description="Memory the response cache may hold per process."
    )
    cache_control: str = Field(
        default="public, no-cache",
        description="Cache-Control sent with cacheable responses; the default lets clients "
        "and proxies keep a copy but revalidate it (ETag, If-None-Match) every time.",
    )
    sql_echo: bool = Field(default=False, description="Log every SQL statement (debugging only).")
    policy_data_dir: Path = Field(
        default=PROJECT_ROOT / "policy_data", description="Folder `nigran seed` loads."
    )
    source_report: Path | None = Field(
        default=PROJECT_ROOT.parent / "shared" / "seed" / "000_6f94637c0553d020.txt",
        description="Plain text of the founding report, used only to check data for copied text.",
    )
    max_page_size: int = Field(default=500, description="Largest `limit` a list endpoint accepts.")
    default_page_size: int = Field(default=50, description="`limit` when a client sends none.")
    writes_per_minute: int = Field(
        default=120, description="Write requests one API key may make per minute."
    )
    failed_auth_per_minute: int = Field(
        default=10, description="Failed authentications one client address may make per minute."
    )
    corrections_per_hour: int = Field(
        default=5, description="Public corrections one client address may submit per hour."
    )
    redis_url: str = Field(
        default="",
        description="Redis holding the rate-limit windows, shared by every worker, e.g. "
        "redis://127.0.0.1:6379/0 (also rediss://, unix://); empty: each process counts in "
        "its own memory.",
    )
    rate_limit_prefix: str = Field(
        default="nigran:rl",
        min_length=1,
        description="Prefix of this app's rate-limit keys in Redis (`<prefix>:<limiter>/...`).",
    )
    redis_timeout_seconds: float = Field(
        default=0.25,
        gt=0,
        description="Seconds to wait for Redis to connect or answer before a rate-limit check "
        "falls back to process memory.",
    )
    redis_retry_seconds: float = Field(
        default=5.0,
        ge=0,
        description="After Redis fails, seconds rate limits stay in process memory before "
        "Redis is tried again.",
    )
    rate_limit_memory_keys: int = Field(
        default=10_000,
        ge=1,
        description="Keys (addresses, API keys) each in-memory rate limiter tracks at most; "
        "beyond it the least recently counted key is forgotten.",
    )
    max_body_bytes: int = Field(default=64 * 1024, description="Largest request body accepted.")
    max_import_bytes: int = Field(
        default=128 * 1024 * 1024,
        description="Largest CSV `POST /incidents/import` accepts (100,000 ACLED rows are ~40 MB).",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed to call the API from a browser (JSON list).",
    )
    key_days: int = Field(default=365, description="Days a new API key stays valid.")
    key_rotation_grace_hours: float = Field(
        default=24,
        ge=0,
        description="Hours a rotated key keeps working beside its replacement (0: it stops at "
        "once); a key that already expires sooner keeps its own expiry.",
    )
    session_secret: SecretStr = Field(
        default_factory=lambda: SecretStr(secrets.token_urlsafe(32)),
        description="Signs the monitor and reviewer pages' session cookie (32+ characters). "
        "Unset: a random value per process, so a restart signs everyone out and several "
        "workers reject each other's cookies; set it in production.",
    )
    session_hours: int = Field(
        default=12, gt=0, description="Hours a page sign-in lasts before the key is asked again."
    )
    chat_retention_days: int = Field(
        default=90,
        ge=0,
        description="Days a chat conversation is kept after its last message; 0 keeps them all.",
    )
    chat_provider_base_url: str = Field(
        default="",
        description="OpenAI-compatible API that phrases chat answers, e.g. "
        "http://127.0.0.1:8080/v1; empty: the offline engine answers alone.",
    )
    chat_provider_model: str = Field(
        default="",
        description="Model the chat provider is asked for; shown as the answer's engine.",
    )
    chat_provider_api_key: str = Field(
        default="",
        description="Sent to the chat provider as `Authorization: Bearer`; never logged.",
    )
    chat_provider_timeout_seconds: float = Field(
        default=8.0,
        gt=0,
        description="Seconds to wait for each provider reply before the offline engine answers.",
    )
    chat_provider_max_tool_rounds: int = Field(
        default=4,
        ge=0,
        description="Rounds of tool calls the provider may make before it must answer.",
    )

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        """A typo here would otherwise only show as every check falling back to memory."""
        schemes = ("redis", "rediss", "unix", "async+redis", "async+rediss", "async+redis+unix")
        if value and value.partition("://")[0] not in schemes:
            raise ValueError("NIGRAN_REDIS_URL must start with redis://, rediss:// or unix://")
        return value

    @field_validator("session_secret")
    @classmethod
    def _long_secret(cls, value: SecretStr) -> SecretStr:
        """A short secret makes session cookies forgeable by brute force."""
        if len(value.get_secret_value()) < 32:
            raise ValueError("NIGRAN_SESSION_SECRET must be at least 32 characters")
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
