"""Teams (workspaces): members with roles (owner, admin, member, viewer) who share one plan's
quotas and spend, counted under the team's row lock like an account's."""
