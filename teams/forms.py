"""Forms of the team pages: adding a member (by user name or e-mail) and changing a role."""

from __future__ import annotations

from django import forms
from django.contrib.auth.models import User
from django.db.models import Q

from teams.models import Membership


class MemberAddForm(forms.Form):
    who = forms.CharField(label="User name or e-mail", max_length=254)
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)

    def clean_who(self) -> User:
        value = self.cleaned_data["who"].strip()
        found = list(User.objects.filter(Q(username=value) | Q(email__iexact=value))[:2])
        if len(found) != 1:
            raise forms.ValidationError("No Studio account has that user name or e-mail.")
        return found[0]


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)
