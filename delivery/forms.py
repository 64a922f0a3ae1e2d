"""The Verify form: any image or video."""

from __future__ import annotations

from django import forms

from media.probe import ACCEPTED_MIME_TYPES


class VerifyForm(forms.Form):
    file = forms.FileField(
        label="Image or video",
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPTED_MIME_TYPES}),
    )
