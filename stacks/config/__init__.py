"""The organization config: models, cross-field rules and the loader."""

from stacks.config.loader import ConfigError, load_config, load_config_bytes, parse_config
from stacks.config.models import OrgConfig, Role

__all__ = ["ConfigError", "OrgConfig", "Role", "load_config", "load_config_bytes", "parse_config"]
