"""The errors every layer of gan_experiments raises; a leaf module, so that any module may import it."""


class ConfigError(ValueError):
    """A config that cannot run; the message names the key."""
