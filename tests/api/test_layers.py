"""Every module of the api app falls under the import-linter contract that nothing imports a
tasks module (named one by one: the contract does not look inside a package given whole)."""

from __future__ import annotations

import tomllib

from tests.conftest import ROOT

CONTRACT = "Nothing imports a tasks module"


def test_every_api_module_is_a_source_of_the_no_tasks_contract():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["name"].startswith(CONTRACT))
    modules = {
        "api." + (path.stem if path.is_file() else path.name)
        for path in (ROOT / "api").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and (path / "__init__.py").exists())
    }
    assert "api.tasks" in contract["forbidden_modules"]
    assert modules - {"api.tasks", "api.migrations"} <= set(contract["source_modules"])
    assert len(modules) > 10
