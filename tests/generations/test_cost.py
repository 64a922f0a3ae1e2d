"""Cost: operator-editable prices seeded from the providers', the estimate the composer
shows before Generate equals the one recorded on the generation, the provider's reported
cost is kept, and a plan's monthly spend cap refuses the job that would cross it, even with
20 requests at once (checked under the account lock)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from generations import services
from generations.forms import GenerateForm
from generations.models import Generation, ModelPrice
from generations.pricing import estimate_text, month_spend, price_quote, price_seed
from generations.spec import GenerationSpec
from providers.runway.models import RunwayAccount
from tests.providers.runway.server import API_KEY, CREDITS_PER_SECOND, RunwayServer
from tests.providers.steps import run


@pytest.fixture
def server() -> Iterator[RunwayServer]:
    with RunwayServer() as fake:
        yield fake


@pytest.fixture
def account(server: RunwayServer) -> RunwayAccount:
    return RunwayAccount.objects.create(api_key=API_KEY, base_url=server.base_url)


def _spec(**fields) -> GenerationSpec:
    values = {"prompt": "a kite", "provider": "runway", "model": "gen4.5", "seconds": 5}
    values.update(fields)
    return GenerationSpec(**values)


@pytest.mark.django_db
def test_prices_are_seeded_from_the_published_ones_and_an_edit_wins(account):
    assert price_quote("runway", "gen4.5").amount == Decimal("0.12")
    assert price_quote("offline", "") is None  # the offline renderer costs nothing
    added = price_seed()
    assert added >= 4 and price_seed() == 0
    row = ModelPrice.objects.get(provider="runway", model="gen4.5")
    assert (row.unit, row.currency, row.is_estimate) == ("second", "USD", True)
    row.amount = Decimal("0.2")
    row.save()
    assert price_quote("runway", "gen4.5").amount == Decimal("0.2")


@pytest.mark.django_db
def test_the_estimate_shown_before_generate_is_the_one_recorded(account, pro_user):
    data = {
        "prompt": "a kite",
        "resolution": "720p",
        "aspect_ratio": "16:9",
        "seconds": "8",
        "variations": "1",
        "provider": "runway:veo3.1",
    }
    form = GenerateForm(data=data, user=pro_user)
    assert form.prices["runway:veo3.1"] == {"unit": "second", "amount": "0.40", "currency": "USD"}
    shown = form.estimate()
    assert shown == "≈ $3.20 for 8 s"
    assert form.is_valid(), form.errors
    generation = services.generation_create(owner=pro_user, spec=form.spec())
    assert generation.cost_estimate == Decimal("3.2000")
    assert generation.cost_currency == "USD"
    recorded = estimate_text(
        generation.cost_estimate, "USD", seconds=generation.seconds, variations=1
    )
    assert recorded == shown


@pytest.mark.django_db
def test_the_composer_renders_the_price_table_and_the_estimate(account, owner_client):
    page = owner_client.get("/").content.decode()
    assert 'id="model-prices"' in page
    assert '"runway:gen4.5": {"unit": "second", "amount": "0.12"' in page
    assert 'id="cost-estimate"' in page


@pytest.mark.django_db
def test_runways_reported_cost_is_recorded_beside_the_estimate(account, server, user):
    generation = run(services.generation_create(owner=user, spec=_spec()))
    assert generation.cost_estimate == Decimal("0.6000")
    assert generation.cost_actual == Decimal(CREDITS_PER_SECOND * 5) / 100


@pytest.mark.django_db
def test_a_spend_cap_refuses_the_job_that_would_cross_it_with_a_plain_message(account, user):
    from accounts.plans import account_get_for_user

    plan = account_get_for_user(user).plan
    plan.monthly_spend_cap = Decimal("1.00")
    plan.save()
    services.generation_create(owner=user, spec=_spec())  # 0.60
    with pytest.raises(ValidationError) as refused:
        services.generation_create(owner=user, spec=_spec(prompt="another"))
    message = refused.value.message_dict["provider"][0]
    assert "monthly spend cap of $1.00" in message and "$0.60 spent" in message
    assert Generation.objects.count() == 1
    assert month_spend(user.pk) == Decimal("0.6")


@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_requests_never_cross_the_cap(server, user):
    from accounts.plans import account_get_for_user
    from tests.conftest import put_on_plan

    put_on_plan(user, "Plus")
    RunwayAccount.objects.create(api_key=API_KEY, base_url=server.base_url)
    plan = account_get_for_user(user).plan
    plan.monthly_spend_cap = Decimal("3.00")  # five jobs of $0.60
    plan.concurrent_jobs = 1
    plan.save()
    made: list[Generation] = []
    refused: list[ValidationError] = []
    barrier = threading.Barrier(20)

    def press(i: int) -> None:
        try:
            barrier.wait()
            made.append(services.generation_create(owner=user, spec=_spec(prompt=f"kite {i}")))
        except ValidationError as exc:
            refused.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert len(made) == 5 and len(refused) == 15
    assert Generation.objects.count() == 5
    assert month_spend(user.pk) == Decimal("3.0")
