"""The library's forms: the search and filters (read from the URL), folders, bulk actions,
share links and the archive upload."""

from __future__ import annotations

from typing import Any

from django import forms

from generations.models import Video
from media.frames import ASPECT_RATIOS, RESOLUTIONS
from policy.models import ReviewItem

SORTS = [("newest", "Newest"), ("oldest", "Oldest"), ("longest", "Longest")]
YES_NO = [("", "Any"), ("yes", "Yes"), ("no", "No")]
CREDENTIALS = [("", "Any"), ("valid", "Valid"), ("invalid", "Invalid"), ("none", "None")]
KINDS = [
    ("", "All"),
    ("generated", "Generated"),
    ("uploaded", "Uploaded"),
    ("imported", "Imported"),
]


class FilterForm(forms.Form):
    """Everything the grid can be narrowed by; all optional, all in the query string. A
    value that does not parse is dropped (the rest still apply)."""

    q = forms.CharField(required=False, max_length=200, label="Search prompts")
    provider = forms.CharField(required=False, max_length=64)
    model = forms.CharField(required=False, max_length=128)
    resolution = forms.ChoiceField(
        required=False, choices=[("", "Any"), *((r, r) for r in RESOLUTIONS)]
    )
    aspect_ratio = forms.ChoiceField(
        required=False, choices=[("", "Any"), *((a, a) for a in ASPECT_RATIOS)], label="Aspect"
    )
    min_seconds = forms.IntegerField(required=False, min_value=0, label="From s")
    max_seconds = forms.IntegerField(required=False, min_value=0, label="To s")
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    credentials = forms.ChoiceField(required=False, choices=CREDENTIALS)
    watermark = forms.ChoiceField(required=False, choices=[("", "Any"), *Video.Watermark.choices])
    reference = forms.ChoiceField(required=False, choices=YES_NO, label="Has reference")
    favourites = forms.BooleanField(required=False, label="Favourites only")
    folder = forms.IntegerField(required=False, widget=forms.HiddenInput)
    kind = forms.ChoiceField(required=False, choices=KINDS)
    sort = forms.ChoiceField(required=False, choices=SORTS)
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def values(self) -> dict[str, Any]:
        """The parsed filters that were given (invalid ones left out)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {k: v for k, v in data.items() if v not in (None, "", False)}


class FolderForm(forms.Form):
    name = forms.CharField(max_length=80)


class ShareForm(forms.Form):
    show_prompt = forms.BooleanField(required=False, label="Show the prompt")
    expires_in_days = forms.IntegerField(
        required=False, min_value=1, max_value=365, label="Expires after (days, empty: never)"
    )


class ImportForm(forms.Form):
    archive = forms.FileField(label="A zip of your videos and images")


class ReportForm(forms.Form):
    """Report a shared video to the operators."""

    reason = forms.ChoiceField(
        choices=[c for c in ReviewItem.Reason.choices if c[0] != ReviewItem.Reason.REFUSALS]
    )
    text = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="What is wrong (optional)",
    )
