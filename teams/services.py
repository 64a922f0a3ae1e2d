"""Teams' writes: the team lock, who may generate on a team's plan, and membership changes
(add, change a role, remove, leave), each recorded in the audit trail.

The team row is the lock for everything counted against its plan (``team_lock``: ``SELECT
... FOR UPDATE`` of the team row alone): generations takes it before counting a team's jobs
and spend, exactly as it takes the account row for a creator's own jobs. Membership changes
take it too, so "the last owner may not leave" cannot be raced past.

Nothing here deletes videos: a member who leaves (or is removed) keeps every video they
made; the ones they had put in the team's shared folders go back to private.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

import audit
from accounts.models import Plan
from teams.models import Membership, Team
from teams.signals import member_left

Role = Membership.Role
# What each role may hand out when adding someone or changing their role.
GRANTS = {
    Role.OWNER: {Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER},
    Role.ADMIN: {Role.MEMBER, Role.VIEWER},
}


class TeamRefused(ValidationError):
    """Not allowed in this team (a viewer generating, an admin touching an owner, ...)."""


def team_lock(team_id: int) -> Team:
    """The team row (with its plan), locked until the current transaction ends. Call inside
    atomic()."""
    return Team.objects.select_for_update(of=("self",)).select_related("plan").get(pk=team_id)


def team_for_generate(team_id: int, user_id: int, *, lock: bool = True) -> Team:
    """The team (locked, with ``lock``, until the transaction ends: call inside atomic())
    after checking that ``user_id`` may generate on its plan: a member, admin or owner, not
    a viewer, not an outsider. Raises TeamRefused keyed ``team`` for the form."""
    try:
        team = team_lock(team_id) if lock else Team.objects.select_related("plan").get(pk=team_id)
    except (Team.DoesNotExist, ValueError, TypeError):
        raise TeamRefused({"team": "No such team."}) from None
    role = Membership.objects.filter(team=team, user_id=user_id).values_list("role", flat=True)
    found = role.first()
    if found is None:
        raise TeamRefused({"team": "No such team."})
    if found == Role.VIEWER:
        raise TeamRefused(
            {"team": f"You are a viewer of {team.name}: viewers cannot generate on its plan."}
        )
    return team


def team_create(*, name: str, plan: Plan, owner: User, by: User | None) -> Team:
    """A new team on ``plan`` with ``owner`` as its first owner."""
    with transaction.atomic():
        team = Team.objects.create(name=name, plan=plan)
        Membership.objects.create(team=team, user=owner, role=Role.OWNER)
        audit.record("team.created", actor=by, target=team, plan=plan.name, owner=owner.username)
    return team


def _may_grant(actor: Membership | None, role: str) -> bool:
    """Whether ``actor`` may give ``role`` (None: an operator in admin, who may give any)."""
    return actor is None or role in GRANTS.get(Role(actor.role), set())


def _may_touch(actor: Membership | None, target: Membership) -> bool:
    """Whether ``actor`` may change or remove ``target`` (admins: members and viewers)."""
    return actor is None or (actor.can_manage and _may_grant(actor, target.role))


def _owners_left(team: Team, without: Membership) -> int:
    return team.memberships.filter(role=Role.OWNER).exclude(pk=without.pk).count()


def member_add(
    *, team: Team, user: User, role: str, by: User, actor: Membership | None
) -> Membership:
    """Add ``user`` to ``team`` with ``role``. ``actor`` is the adder's membership (None for
    an operator). Raises TeamRefused."""
    if not _may_grant(actor, role):
        raise TeamRefused({"role": "You cannot give that role."})
    with transaction.atomic():
        team_lock(team.pk)
        try:
            with transaction.atomic():
                membership = Membership.objects.create(team=team, user=user, role=role)
        except IntegrityError:
            raise TeamRefused({"user": f"{user.username} is already in {team.name}."}) from None
        audit.record("team.member_added", actor=by, target=team, member=user.username, role=role)
    return membership


def member_role_set(
    *, membership: Membership, role: str, by: User, actor: Membership | None
) -> Membership:
    """Give ``membership`` a new role. Raises TeamRefused when the actor may not (admins
    change members and viewers only) or when it would leave the team without an owner."""
    if role not in Role.values:
        raise TeamRefused({"role": "Pick a role."})
    with transaction.atomic():
        team = team_lock(membership.team_id)
        membership = Membership.objects.select_related("user").get(pk=membership.pk)
        if not _may_touch(actor, membership) or not _may_grant(actor, role):
            raise TeamRefused({"role": "You cannot change this member's role."})
        if (
            membership.role == Role.OWNER
            and role != Role.OWNER
            and not _owners_left(team, membership)
        ):
            raise TeamRefused({"role": "A team needs an owner: make someone else owner first."})
        old = membership.role
        if old == role:
            return membership
        Membership.objects.filter(pk=membership.pk).update(role=role)
        membership.role = role
        audit.record(
            "team.role_changed",
            actor=by,
            target=team,
            member=membership.user.username,
            old=old,
            new=role,
        )
    return membership


def member_remove(*, membership: Membership, by: User, actor: Membership | None) -> None:
    """Take ``membership`` out of its team (``actor`` is the remover's membership; the
    member's own for leaving). Their videos stay theirs: the ones in the team's shared
    folders go back to private. Raises TeamRefused for the last owner or an actor who may
    not."""
    leaving = actor is not None and actor.pk == membership.pk
    with transaction.atomic():
        team = team_lock(membership.team_id)
        membership = Membership.objects.select_related("user").get(pk=membership.pk)
        if not leaving and not _may_touch(actor, membership):
            raise TeamRefused({"member": "You cannot remove this member."})
        if membership.role == Role.OWNER and not _owners_left(team, membership):
            raise TeamRefused({"member": "A team needs an owner: make someone else owner first."})
        membership.delete()
        member_left.send(Team, team_id=team.pk, user_id=membership.user_id)
        audit.record(
            "team.member_left" if leaving else "team.member_removed",
            actor=by,
            target=team,
            member=membership.user.username,
            role=membership.role,
        )
