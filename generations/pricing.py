"""What a job costs: the operator's price per provider model (``ModelPrice``, seeded from
the providers' published prices), the estimate for one request, a creator's spend this
month, and the words the composer and the detail page show ("≈ $0.80 for 2 × 8 s")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import DecimalField, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from accounts.plans import month_start
from generations.models import Generation, ModelPrice
from generations.selectors import quota_scope
from generations.states import State
from providers.registry import PROVIDERS, UnknownProvider, get_provider

CENT = Decimal("0.0001")
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


@dataclass(frozen=True)
class Quote:
    """One model's price: ``amount`` per ``unit`` ("second", "video" or "request")."""

    unit: str
    amount: Decimal
    currency: str
    is_estimate: bool = True

    def cost(self, *, seconds: int, variations: int) -> Decimal:
        """The price of one job of ``variations`` videos of ``seconds`` each."""
        if self.unit == ModelPrice.Unit.SECOND:
            total = self.amount * seconds * variations
        elif self.unit == ModelPrice.Unit.VIDEO:
            total = self.amount * variations
        else:
            total = self.amount
        return total.quantize(CENT, rounding=ROUND_HALF_UP)

    def as_json(self) -> dict[str, str]:
        return {"unit": self.unit, "amount": str(self.amount), "currency": self.currency}


def price_quote(provider: str, model: str, *, rows: list[ModelPrice] | None = None) -> Quote | None:
    """The operator's price for the model (a row for the model, else one for the whole
    provider), else the provider's published price; None when it has none (free).
    ``rows``: the price rows already read (one query for a whole page)."""
    if rows is None:
        rows = list(ModelPrice.objects.filter(provider=provider, model__in=(model, "")))
    mine = [r for r in rows if r.provider == provider and r.model in (model, "")]
    row = min(mine, key=lambda r: r.model != model, default=None)
    if row is not None:
        return Quote(row.unit, row.amount, row.currency, row.is_estimate)
    try:
        published = get_provider(provider).published_price(model)
    except UnknownProvider:
        return None
    if published is None:
        return None
    return Quote(published.unit, Decimal(published.amount), published.currency)


def money(amount: Decimal, currency: str) -> str:
    symbol = SYMBOLS.get(currency)
    places = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{symbol}{places}" if symbol else f"{places} {currency}"


def estimate_text(amount: Decimal, currency: str, *, seconds: int, variations: int) -> str:
    """ "≈ $0.80 for 2 × 8 s" (or "for 8 s" for one video)."""
    count = f"{variations} × " if variations > 1 else ""
    return f"≈ {money(amount, currency)} for {count}{seconds} s"


def price_seed() -> int:
    """Add the published price of every model of every provider that has no row yet;
    returns how many rows were added (operators edit them afterwards)."""
    added = 0
    for slug in PROVIDERS:
        provider = get_provider(slug)
        for model in provider.capabilities().models:
            price = provider.published_price(model)
            if price is None:
                continue
            _, created = ModelPrice.objects.get_or_create(
                provider=slug,
                model=model,
                defaults={
                    "unit": price.unit,
                    "amount": Decimal(price.amount),
                    "currency": price.currency,
                    "is_estimate": True,
                },
            )
            added += created
    return added


def month_spend(
    owner_id: int, now: datetime | None = None, *, team_id: int | None = None
) -> Decimal:
    """What the creator's own generations (the team's, with ``team_id``) this calendar month
    cost (the provider's reported cost, else the estimate); jobs that ended without reaching
    a provider cost nothing."""
    never_sent = Q(provider_job_id="") & Q(state__in=(State.FAILED, State.CANCELED, State.REJECTED))
    total = (
        Generation.objects.filter(quota_scope(owner_id, team_id), created_at__gte=month_start(now))
        .exclude(never_sent)
        .aggregate(
            spent=Sum(
                Coalesce("cost_actual", "cost_estimate"),
                output_field=DecimalField(max_digits=12, decimal_places=4),
            )
        )["spent"]
    )
    return Decimal(total or 0)


def cost_by_creator_and_month(
    generations: QuerySet[Generation],
) -> list[tuple[tuple[str, str, str], Decimal]]:
    """What the generations cost (reported, else estimated), summed per creator, calendar
    month and currency, in that order."""
    totals: dict[tuple[str, str, str], Decimal] = {}
    rows = generations.values_list(
        "owner__username", "created_at", "cost_actual", "cost_estimate", "cost_currency"
    )
    for username, created, actual, estimate, currency in rows:
        cost = actual if actual is not None else estimate
        if cost is None:
            continue
        key = (str(username), created.strftime("%Y-%m"), str(currency or "USD"))
        totals[key] = totals.get(key, Decimal(0)) + cost
    return sorted(totals.items())
