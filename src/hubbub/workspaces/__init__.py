"""Workspaces: the tenant boundary; every row of every feature belongs to one."""
