"""Forms of the accounts app: signing up (with an invitation's token in invite-only mode)
and inviting someone."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User


class SignupForm(UserCreationForm[User]):
    email = forms.EmailField(required=False)
    invite = forms.CharField(required=False, widget=forms.HiddenInput)

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")

    def __init__(
        self, *args: Any, email_required: bool = False, invited_email: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        email = self.fields["email"]
        email.required = email_required or bool(invited_email)
        if invited_email:
            # The invitation was for this address: the account gets it.
            email.initial = invited_email
            email.disabled = True


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Their e-mail address")
