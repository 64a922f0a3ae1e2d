"""Team (a workspace with a plan its members share; its row is the lock their quota
decisions are taken under) and Membership (one person's role in one team)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import Plan


class Team(models.Model):
    """A workspace: its members generate on ``plan`` and share its quotas and spend."""

    name = models.CharField(max_length=100, unique=True)
    plan = models.ForeignKey(
        Plan,
        on_delete=models.PROTECT,
        related_name="teams",
        help_text="Its quotas (jobs per day, priority, concurrent jobs) and monthly spend cap "
        "are shared by every member's team jobs.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """One person's place in a team. Owners and admins manage members (admins only members
    and viewers); members also generate on the team's plan and share videos in its folders;
    viewers only look."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"
        VIEWER = "viewer", "Viewer"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def can_generate(self) -> bool:
        return self.role != self.Role.VIEWER

    @property
    def can_manage(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.ADMIN)
