"""Configuration: one TOML file, validated into typed objects. Only this package reads
configuration files or the environment."""

from mailroom.config.loader import (
    ConfigError,
    ConfigProblem,
    default_config_path,
    load_config,
    parse_config,
)
from mailroom.config.model import (
    AuthConfig,
    Config,
    DirectoryConfig,
    DkimAlgorithm,
    DkimConfig,
    Listener,
    MailboxConfig,
    MasterUser,
    PasswordHashing,
    Protocol,
    QueueConfig,
    RoutingConfig,
    SmtpConfig,
    ThrottleConfig,
    TlsConfig,
    TlsMode,
    dkim_selector,
)

__all__ = [
    "AuthConfig",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "DirectoryConfig",
    "DkimAlgorithm",
    "DkimConfig",
    "Listener",
    "MailboxConfig",
    "MasterUser",
    "PasswordHashing",
    "Protocol",
    "QueueConfig",
    "RoutingConfig",
    "SmtpConfig",
    "ThrottleConfig",
    "TlsConfig",
    "TlsMode",
    "default_config_path",
    "dkim_selector",
    "load_config",
    "parse_config",
]
