"""Users, memberships with roles, API tokens, sessions and the audit log (issue 4)."""
