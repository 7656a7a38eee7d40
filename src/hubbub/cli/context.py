"""Compatibility alias: the runtime moved to :mod:`hubbub.runtime`."""

from hubbub.runtime import WorkspaceOption, console, err_console, fail, runtime

__all__ = ["WorkspaceOption", "console", "err_console", "fail", "runtime"]
