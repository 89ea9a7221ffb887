"""nox-workspace: Nox sessions per uv workspace member, synced from ``uv.lock``."""

from nox_workspace._errors import ConfigError, DiscoveryError, LockError, NoxWorkspaceError, UvError

__all__ = [
    "ConfigError",
    "DiscoveryError",
    "LockError",
    "NoxWorkspaceError",
    "UvError",
]
