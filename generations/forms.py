"""Forms for the dashboard: the Generate form and the upload form."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.models import User
from django.core.validators import MaxLengthValidator

from accounts.plans import model_allowed, resolutions_allowed
from generations.models import Asset, Generation, ModelPrice
from generations.pricing import Quote, estimate_text, price_quote
from generations.selectors import usage_get_for_user
from generations.spec import MAX_SECONDS, VARIATION_CHOICES, GenerationSpec
from media.frames import ASPECT_RATIOS, RESOLUTIONS
from media.probe import ACCEPTED_MIME_TYPES
from providers.base import Capabilities
from providers.registry import available_providers
from teams.selectors import memberships_for_user


class PlanSelect(forms.Select):
    """A select whose options outside the creator's plan are shown but disabled (marked so
    that the page script, which narrows options to the chosen model, keeps them off)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.off: set[str] = set()

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        if str(option["value"]) in self.off:
            option["attrs"] = {**option["attrs"], "disabled": True, "data-plan-off": "1"}
        return option


class GenerateForm(forms.Form):
    prompt = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "Describe your video…"}),
    )
    resolution = forms.ChoiceField(
        choices=[(r, r) for r in RESOLUTIONS], initial="720p", widget=PlanSelect
    )
    aspect_ratio = forms.ChoiceField(choices=[(a, a) for a in ASPECT_RATIOS], initial="16:9")
    seconds = forms.IntegerField(min_value=1, max_value=MAX_SECONDS, initial=5)
    variations = forms.TypedChoiceField(
        choices=[(v, str(v)) for v in VARIATION_CHOICES], coerce=int, initial=1, widget=PlanSelect
    )
    priority = forms.BooleanField(required=False)
    prompt_in_credentials = forms.BooleanField(
        required=False,
        label="Put my prompt in the Content Credentials",
        help_text="Otherwise they carry only its SHA-256.",
    )
    audio = forms.BooleanField(
        required=False,
        label="With sound",
        help_text="Models that make audio (Veo 3, Runway's Veo 3.1, ...) add a sound track.",
    )
    provider = forms.ChoiceField()
    seed = forms.IntegerField(required=False, min_value=0, max_value=2**63 - 1)
    reference = forms.ModelChoiceField(queryset=Asset.objects.none(), required=False)
    reference_as = forms.ChoiceField(
        choices=Generation.ReferenceAs.choices,
        initial=Generation.ReferenceAs.FRAME,
        required=False,
        label="Use the reference as",
    )
    last_frame = forms.ModelChoiceField(
        queryset=Asset.objects.none(), required=False, label="Last frame"
    )
    parent = forms.UUIDField(required=False, widget=forms.HiddenInput)
    # An upload (an imported file) this generation is made from, instead of a generation.
    parent_asset = forms.UUIDField(required=False, widget=forms.HiddenInput)
    # Compare: the same prompt on these models at once (the Compare button).
    compare = forms.MultipleChoiceField(required=False, label="Compare on")
    # Whose plan the job runs on: the creator's own, or one of their teams' (its quotas and
    # spend). The service checks the role again under the team's lock.
    team = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label="Plan", choices=[("", "My plan")]
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = settings.STUDIO_PROMPT_MAX_CHARS
        prompt = self.fields["prompt"]
        assert isinstance(prompt, forms.CharField)
        prompt.max_length = limit
        prompt.validators.append(MaxLengthValidator(limit))
        prompt.widget.attrs["maxlength"] = str(limit)
        self.usage = usage_get_for_user(user)
        self.teams = list(memberships_for_user(user))
        team_field = self.fields["team"]
        assert isinstance(team_field, forms.ChoiceField)
        team_field.choices = [("", f"My plan ({self.usage.plan.name})")] + [
            (m.team_id, f"{m.team.name} ({m.team.plan.name}, shared)") for m in self.teams
        ]
        plan = self.usage.plan
        self.fields["resolution"].widget.off = set(RESOLUTIONS) - set(resolutions_allowed(plan))
        self.fields["variations"].widget.off = {
            str(v) for v in VARIATION_CHOICES if v > plan.max_variations
        }
        plan_max = min(plan.max_seconds, MAX_SECONDS)
        self.fields["seconds"].widget.attrs["data-plan-max"] = str(plan_max)
        if self.initial.get("resolution", "720p") not in resolutions_allowed(plan):
            self.initial["resolution"] = resolutions_allowed(plan)[-1]
        if not self.usage.has_priority:
            self.fields["priority"].disabled = True
        providers = available_providers()
        # AI providers get one entry per model ("provider:model"), so the creator picks it;
        # models outside the plan are listed but cannot be chosen.
        self.model_options: list[tuple[str, str, Capabilities, bool]] = []
        for p in providers:
            caps = p.capabilities()
            if not p.is_ai or not caps.models:
                label = p.name if p.is_ai else f"{p.name} (not AI)"
                allowed = model_allowed(plan, p.slug, caps.models[0] if caps.models else "")
                self.model_options.append((p.slug, label, caps, allowed))
                continue
            for model in caps.models:
                label = f"{p.model_label(model)} · {p.name}"
                allowed = model_allowed(plan, p.slug, model)
                self.model_options.append(
                    (f"{p.slug}:{model}", label, p.capabilities(model), allowed)
                )
        # Every model stays a valid choice, so that one outside the plan gets the plan's
        # message from the service rather than "not one of the available choices".
        provider_field = self.fields["provider"]
        assert isinstance(provider_field, forms.ChoiceField)
        provider_field.choices = [(value, label) for value, label, *_ in self.model_options]
        compare = self.fields["compare"]
        assert isinstance(compare, forms.MultipleChoiceField)
        compare.choices = provider_field.choices
        first_allowed = [value for value, _, _, allowed in self.model_options if allowed]
        provider_field.initial = first_allowed[0] if first_allowed else ""
        reference = self.fields["reference"]
        assert isinstance(reference, forms.ModelChoiceField)
        reference.queryset = Asset.objects.filter(owner=user)
        last_frame = self.fields["last_frame"]
        assert isinstance(last_frame, forms.ModelChoiceField)
        last_frame.queryset = Asset.objects.filter(owner=user, kind=Asset.Kind.IMAGE)
        self.providers = providers
        # Each model's price, for the composer's estimate before Generate (pricing.js).
        self.prices: dict[str, dict[str, str]] = {}
        rows = list(ModelPrice.objects.all())
        for value, *_ in self.model_options:
            slug, _, model = value.partition(":")
            quote = price_quote(slug, model, rows=rows)
            if quote is not None:
                self.prices[value] = quote.as_json()

    def estimate(self) -> str:
        """The estimate for the settings as they stand (the script keeps it current)."""

        def pick(name: str) -> str:
            value = self.data.get(name) if self.is_bound else None
            return str(value or self.initial.get(name) or self.fields[name].initial or "")

        price = self.prices.get(pick("provider"))
        try:
            seconds, variations = int(pick("seconds")), int(pick("variations") or 1)
        except ValueError:
            return ""
        if price is None:
            return ""
        quote = Quote(price["unit"], Decimal(price["amount"]), price["currency"])
        amount = quote.cost(seconds=seconds, variations=variations)
        return estimate_text(amount, quote.currency, seconds=seconds, variations=variations)

    def spec(
        self, *, parent: Generation | None = None, parent_asset: Asset | None = None
    ) -> GenerationSpec:
        """The request this valid form makes (``parent``: the generation it was made from;
        ``parent_asset``: the upload it was made from)."""
        data = self.cleaned_data
        provider, _, model = data["provider"].partition(":")
        return GenerationSpec(
            prompt=data["prompt"],
            resolution=data["resolution"],
            aspect_ratio=data["aspect_ratio"],
            seconds=data["seconds"],
            variations=data["variations"],
            priority=data["priority"],
            provider=provider,
            model=model,
            seed=data["seed"],
            reference=data["reference"],
            parent=parent,
            parent_asset=parent_asset,
            prompt_in_credentials=data["prompt_in_credentials"],
            audio=data.get("audio") or False,
            last_frame=data.get("last_frame"),
            reference_as=data.get("reference_as") or Generation.ReferenceAs.FRAME,
            team_id=data.get("team"),
        )


class UploadForm(forms.Form):
    file = forms.FileField(widget=forms.ClearableFileInput(attrs={"accept": ACCEPTED_MIME_TYPES}))
