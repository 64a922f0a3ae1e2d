"""Cost on every hosted provider: the estimate the composer quotes is recorded on the job
when it is made, and kept as its cost where the provider reports none (Luma, fal,
Replicate and Veo report no per-job cost in their APIs); Runway's own reported cost is
recorded beside it. The detail page says which one it shows."""

from __future__ import annotations

from decimal import Decimal

import pytest

from generations.pricing import price_quote
from generations.states import State
from tests.providers.accounts import SETUPS, hosted_account
from tests.providers.steps import create, run

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("slug", sorted(SETUPS))
def test_a_finished_job_shows_what_it_cost(slug, pro_user, tmp_path, client):
    with hosted_account(slug, tmp_path) as (server, fields):
        generation = run(create(pro_user, slug, **fields))

    assert generation.state == State.SUCCEEDED, generation.error_message
    quote = price_quote(slug, fields["model"])
    assert quote is not None
    expected = quote.cost(seconds=fields["seconds"], variations=1)
    assert generation.cost_estimate == expected > Decimal(0)
    assert generation.cost_currency == "USD"
    client.force_login(pro_user, backend="accounts.backends.CachedModelBackend")
    page = client.get(f"/generations/{generation.pk}/").content.decode()
    if slug == "runway":
        assert generation.cost_actual is not None and generation.cost_actual > 0
        assert "reported by the provider" in page
    else:
        assert generation.cost_actual is None
        assert f"≈ {expected:.2f} USD (estimate)" in page
