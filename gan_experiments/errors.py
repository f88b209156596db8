"""The errors every layer of gan_experiments raises, each ending a command with one ``error:`` line
and exit code 2; a leaf module, so that any module may import it (and the command line may catch
them without importing torch)."""


class ConfigError(ValueError):
    """A config that cannot run; the message names the key."""


class DataNotFoundError(FileNotFoundError):
    """An image data set whose files are not in the data root."""


class RunFolderError(ValueError):
    """A run folder that cannot be used as asked; the message names the folder and the fix."""
