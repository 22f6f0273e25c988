"""Settings, read from the environment (prefix ``SECUREBASE_``) and validated at start-up."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./var/securebase.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SECUREBASE_", extra="ignore", frozen=True)

    environment: Literal["development", "production", "test"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    questionnaires_dir: Path | None = None
    default_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    # The batch scoring route streams its body (one answer set per line) under its own limit.
    max_batch_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    incomplete_ttl_days: int = Field(default=30, ge=1, le=3650)
    idempotency_ttl_hours: int = Field(default=24, ge=1, le=24 * 30)
    min_cell_size: int = Field(default=11, ge=2)
    research_exports_per_hour: int = Field(default=120, ge=1, le=100_000)
    # Differential privacy: the total epsilon each study may spend on research releases.
    dp_total_epsilon: float = Field(default=1.0, gt=0, le=100)
    # Norms: the total epsilon each questionnaire's norms releases may spend, and the fewest
    # responses (as released) a norms file may be built from.
    norms_total_epsilon: float = Field(default=1.0, gt=0, le=100)
    norms_min_sample: int = Field(default=500, ge=1)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # PostgreSQL connections a worker keeps open: as many as its thread pool runs at once.
    db_pool_size: int = Field(default=40, ge=1, le=200)
    # Where people reach the service, e.g. https://securebase.example.org: links the service
    # hands out (the resume link) start with it. Unset, they follow the request's own address,
    # which behind a proxy or load balancer may be an inside one.
    public_url: str | None = Field(default=None, pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$")
    # Interactive API documentation at /docs and /redoc (false: both answer 404).
    api_docs: bool = True

    # Metrics: served by `securebase serve` on this address of their own ("off": not at all);
    # the default lets only the machine itself read them.
    metrics_address: str = "127.0.0.1:9464"
    # Set, /metrics on the application's port answers a request with this bearer token.
    metrics_token: SecretStr | None = Field(default=None, min_length=32)

    @field_validator("metrics_address")
    @classmethod
    def _host_and_port(cls, address: str) -> str:
        address = address.strip()
        if address.lower() == "off":
            return "off"
        split_address(address)
        return address

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _no_empty_token(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, url: str) -> str:
        if not url.startswith(("sqlite://", "postgresql+psycopg://")):
            raise ValueError("use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB")
        return url

    @field_validator("default_country", mode="before")
    @classmethod
    def _upper_country(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().upper() or None
        return value

    @field_validator("public_url")
    @classmethod
    def _without_trailing_slash(cls, url: str | None) -> str | None:
        return url.rstrip("/") if url else None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def split_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9464`` for IPv6) as a host and a port; ValueError otherwise."""
    host, colon, port = address.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError("use HOST:PORT, e.g. 127.0.0.1:9464, or off")
    return host, int(port)


@lru_cache
def get_settings() -> Settings:
    return Settings()
