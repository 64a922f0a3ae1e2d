"""One way to ask for a video: GenerationSpec and its one validator."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.plans import account_get_for_user
from generations import services
from generations.models import Generation
from generations.spec import GenerationSpec, spec_validate
from generations.states import State
from tests.factories import make_generation, make_video

pytestmark = pytest.mark.django_db


def _errors(user, spec: GenerationSpec) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        spec_validate(spec, owner_id=user.pk, plan=account_get_for_user(user).plan)
    return caught.value.message_dict


def test_a_valid_spec_comes_back_as_it_will_be_saved(user):
    spec = GenerationSpec(prompt="  a red fox in the snow  ", seconds=3)
    saved = spec_validate(spec, owner_id=user.pk, plan=account_get_for_user(user).plan)
    assert (saved.prompt, saved.provider, saved.model) == (
        "a red fox in the snow",
        "offline",
        "title-card",
    )
    assert spec.prompt == "  a red fox in the snow  "  # frozen: the caller's spec is untouched


def test_every_problem_is_reported_by_field_at_once(user):
    errors = _errors(user, GenerationSpec(prompt=" ", resolution="1080p", seconds=30))
    assert errors["prompt"] == ["Write a prompt."]
    assert errors["seconds"] == ["Duration must be 1–20 seconds."]
    assert errors["resolution"] == ["Your Plus plan makes video up to 720p."]


def test_an_unknown_provider_is_a_form_error(user):
    assert _errors(user, GenerationSpec(prompt="x", provider="nope")) == {
        "provider": ["No provider named 'nope'."]
    }


def test_a_reference_of_another_creator_does_not_exist(user, other_user):
    from generations.models import Asset

    theirs = Asset.objects.create(
        owner=other_user, kind="image", original_name="x.png", mime="image/png",
        extension="png", width=8, height=8, size_bytes=10, sha256="0" * 64,
    )  # fmt: skip
    errors = _errors(user, GenerationSpec(prompt="x", reference=theirs))
    assert errors == {"reference": ["That reference does not exist."]}


def test_remixing_on_a_model_that_cannot_is_refused(user):
    video = make_video(make_generation(user, state=State.SUCCEEDED, provider_job_id="j1"))
    spec = GenerationSpec.derived(video, operation="remix", prompt="at night")
    assert _errors(user, spec)["prompt"] == ["This video's model cannot remix it."]


def test_again_repeats_every_setting_as_a_child(user):
    first = services.generation_create(
        owner=user,
        spec=GenerationSpec(
            prompt="a kite", resolution="480p", seconds=2, seed=11, prompt_in_credentials=True
        ),
    )
    again = services.generation_retry(generation=first)
    fields = ["prompt", "resolution", "aspect_ratio", "seconds", "seed", "prompt_in_credentials"]
    assert [getattr(again, f) for f in fields] == [getattr(first, f) for f in fields]
    assert (again.parent_id, again.pk != first.pk, again.state) == (first.pk, True, State.QUEUED)
    assert Generation.objects.filter(owner=user).count() == 2


def test_an_invalid_spec_saves_nothing(user):
    with pytest.raises(ValidationError):
        services.generation_create(owner=user, spec=GenerationSpec(prompt=""))
    assert not Generation.objects.filter(owner=user).exists()
