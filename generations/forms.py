"""Forms for the dashboard: the Generate form and the upload form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import UserCreationForm
from django.core.validators import MaxLengthValidator

from generations.models import ASPECT_RATIOS, MAX_SECONDS, RESOLUTIONS, VARIATION_CHOICES, Asset
from generations.providers.base import Capabilities
from generations.providers.registry import available_providers


class SignupForm(UserCreationForm):  # type: ignore[type-arg]
    email = forms.EmailField(required=False)

    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined,misc]
        fields = ("username", "email")


class GenerateForm(forms.Form):
    prompt = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "Describe your video…"}),
    )
    resolution = forms.ChoiceField(choices=[(r, r) for r in RESOLUTIONS], initial="720p")
    aspect_ratio = forms.ChoiceField(choices=[(a, a) for a in ASPECT_RATIOS], initial="16:9")
    seconds = forms.IntegerField(min_value=1, max_value=MAX_SECONDS, initial=5)
    variations = forms.TypedChoiceField(
        choices=[(v, str(v)) for v in VARIATION_CHOICES], coerce=int, initial=1
    )
    priority = forms.BooleanField(required=False)
    provider = forms.ChoiceField()
    seed = forms.IntegerField(required=False, min_value=0, max_value=2**63 - 1)
    reference = forms.ModelChoiceField(queryset=Asset.objects.none(), required=False)
    parent = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = settings.STUDIO_PROMPT_MAX_CHARS
        prompt = self.fields["prompt"]
        prompt.max_length = limit
        prompt.validators.append(MaxLengthValidator(limit))
        prompt.widget.attrs["maxlength"] = str(limit)
        providers = available_providers()
        # AI providers get one entry per model ("provider:model"), so the creator picks it.
        self.model_options: list[tuple[str, str, Capabilities]] = []
        for p in providers:
            caps = p.capabilities()
            if not p.is_ai or not caps.models:
                label = p.name if p.is_ai else f"{p.name} (not AI)"
                self.model_options.append((p.slug, label, caps))
                continue
            for model in caps.models:
                label = f"{p.model_label(model)} · {p.name}"
                self.model_options.append((f"{p.slug}:{model}", label, p.capabilities(model)))
        self.fields["provider"].choices = [(value, label) for value, label, _ in self.model_options]
        self.fields["provider"].initial = self.model_options[0][0] if self.model_options else ""
        self.fields["reference"].queryset = Asset.objects.filter(owner=user)
        self.providers = providers


class UploadForm(forms.Form):
    file = forms.FileField(
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png,image/webp,video/mp4,video/quicktime,video/webm"}
        )
    )
