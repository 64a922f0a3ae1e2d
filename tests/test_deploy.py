"""What can be checked of the production path without a Docker engine: the compose file's
shape, the commands it runs, the Dockerfile's steps, and the env example's completeness."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_web_worker_beat_postgres_and_redis():
    services = _compose()["services"]
    assert {"web", "worker", "beat", "db", "redis"} <= set(services)
    for name in ("web", "worker", "beat"):
        service = services[name]
        assert service["build"]["dockerfile"] == "docker/Dockerfile"
        assert service["environment"]["DATABASE_URL"].startswith("postgres://")
        assert service["environment"]["CELERY_BROKER_URL"].startswith("redis://")
        assert set(service["depends_on"]) == {"db", "redis", "minio-init"}
        assert service["depends_on"]["minio-init"]["condition"] == "service_completed_successfully"
    assert services["db"]["healthcheck"] and services["redis"]["healthcheck"]


def test_compose_writes_no_password_of_its_own():
    """The database's and MinIO's passwords come from docker/.env, or compose refuses to
    start: none is in the repo for an operator to forget to change."""
    services = _compose()["services"]
    assert ":?" in services["db"]["environment"]["POSTGRES_PASSWORD"]
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert "${POSTGRES_PASSWORD:?" in env["DATABASE_URL"], name
        assert ":?" in env["AWS_SECRET_ACCESS_KEY"], name


def test_compose_commands_name_real_modules_and_queues():
    services = _compose()["services"]
    worker = shlex.split(services["worker"]["command"])
    assert worker[:4] == ["celery", "-A", "studio", "worker"]
    queues = worker[worker.index("-Q") + 1].split(",")
    assert set(queues) == {"priority", "standard", "media"}
    assert shlex.split(services["beat"]["command"])[:4] == ["celery", "-A", "studio", "beat"]
    web = services["web"]["command"]
    assert "manage.py migrate" in web and "gunicorn studio.wsgi" in web


def test_the_dockerfile_installs_the_project_and_serves_with_gunicorn():
    text = (ROOT / "docker" / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.1[23]", text, re.M)
    assert "pip install ." in text
    assert "collectstatic" in text
    assert re.search(r"^USER (?!root)", text, re.M)
    for copied in re.findall(r"^COPY (\S+)", text, re.M):
        if copied != ".":
            assert (ROOT / copied).exists(), copied


def test_every_setting_read_from_the_environment_is_documented():
    names: set[str] = set()
    for path in [ROOT / "studio" / "settings.py"]:
        names |= set(re.findall(r'env_\w+\(\s*"([A-Z_]+)"', path.read_text()))
    example = (ROOT / "docker" / ".env.example").read_text()
    documented = set(re.findall(r"^([A-Z_]+)=", example, re.M))
    assert names, "no settings found"
    assert names <= documented, names - documented


def test_the_gpu_profile_reserves_a_gpu_stays_offline_and_shares_the_media_volume():
    services = _compose()["services"]
    gpu = services["worker-gpu"]
    assert gpu["profiles"] == ["gpu"]
    assert gpu["environment"]["HF_HUB_OFFLINE"] == "1"
    assert (
        gpu["environment"]["CELERY_RESULT_BACKEND"]
        == (services["worker"]["environment"]["CELERY_RESULT_BACKEND"])
    )
    device = gpu["deploy"]["resources"]["reservations"]["devices"][0]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert "models:/models" in gpu["volumes"] and "media:/data" in gpu["volumes"]
    fetch = services["models-fetch"]
    assert fetch["profiles"] == ["fetch"] and "hf download" in " ".join(fetch["command"])
    assert "models" in _compose()["volumes"]


def test_the_gpu_image_installs_the_pinned_worker_and_runs_the_solo_pool():
    text = (ROOT / "docker" / "worker-gpu.Dockerfile").read_text()
    assert "pip install torch==2.13.0" in text
    assert "requirements.txt" in text
    for copied in re.findall(r"^COPY (\S+)", text, re.M):
        assert (ROOT / copied).exists(), copied
    cmd = re.search(r"^CMD (\[.*?\])$", text, re.M | re.S)
    assert cmd and '"--pool=solo"' in cmd[1] and '"gpu"' in cmd[1]
    pins = (ROOT / "workers" / "diffusion" / "requirements.txt").read_text()
    assert "torch==2.13.0" in pins


def test_compose_stores_media_in_minio_by_default_with_a_private_bucket():
    compose = _compose()
    services = compose["services"]
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["STUDIO_STORAGE"] == "s3"
        assert env["STUDIO_S3_ENDPOINT_URL"] == "http://minio:9000"
        # No default for the secret: compose refuses to start without one.
        assert ":?" in env["AWS_SECRET_ACCESS_KEY"]
    minio = services["minio"]
    assert ":?" in minio["environment"]["MINIO_ROOT_PASSWORD"]
    assert minio["healthcheck"]["test"][:2] == ["CMD", "mc"]
    assert "127.0.0.1:9001:9001" in minio["ports"]  # the console stays on loopback
    init = services["minio-init"]
    assert init["depends_on"]["minio"]["condition"] == "service_healthy"
    script = init["entrypoint"][-1]
    assert "mc mb --ignore-existing" in script and "mc anonymous set none" in script
    assert "objects" in compose["volumes"]


def test_healthchecks_ask_readyz_and_the_workers_ping():
    services = _compose()["services"]
    web = " ".join(services["web"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/readyz" in web
    worker = " ".join(services["worker"]["healthcheck"]["test"])
    assert "celery -A studio inspect ping -d celery@$$HOSTNAME" in worker


def test_workers_scale_without_fixed_names_or_ports():
    for name in ("worker",):
        service = _compose()["services"][name]
        assert "container_name" not in service and "ports" not in service


def test_a_worker_only_host_joins_the_shared_services_and_keeps_only_scratch():
    other = yaml.safe_load((ROOT / "docker-compose.worker.yml").read_text())
    services = other["services"]
    # No database, broker or storage here.
    assert set(services) == {"worker", "worker-gpu", "models-fetch"}
    assert services["models-fetch"]["profiles"] == ["fetch"]
    env = services["worker"]["environment"]
    for name in (
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "CELERY_RESULT_BACKEND",
        "SECRET_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ):
        assert ":?" in env[name], name  # must be given: nothing to fall back on
    assert env["STUDIO_STORAGE"] == "s3"
    # Scratch, and the operator's signing chain read-only (the same on every host).
    assert services["worker"]["volumes"] == ["scratch:/scratch", "./docker/c2pa:/c2pa:ro"]
    assert env["STUDIO_C2PA_CERT"] == "/c2pa/signer-chain.pem"
    assert env["STUDIO_C2PA_KEY"] == "/c2pa/signer.key"
    command = shlex.split(services["worker"]["command"])
    assert command[:4] == ["celery", "-A", "studio", "worker"]
    assert "inspect ping" in " ".join(services["worker"]["healthcheck"]["test"])
    assert services["worker-gpu"]["profiles"] == ["gpu"]


def test_gpu_workers_are_healthy_while_their_announcement_is_fresh():
    """A solo pool answers no ping while it renders, so the check reads the announcement a
    background thread refreshes, under the key the worker writes."""
    package = (ROOT / "workers" / "diffusion" / "diffusion_worker" / "__init__.py").read_text()
    announce = (ROOT / "workers" / "diffusion" / "diffusion_worker" / "announce.py").read_text()
    assert "def worker_key(hostname: str)" in package
    assert "def redis_client()" in announce
    assert 'getattr(sender, "hostname", None)' in announce  # Celery's celery@<hostname>
    for name in ("docker-compose.yml", "docker-compose.worker.yml"):
        gpu = yaml.safe_load((ROOT / name).read_text())["services"]["worker-gpu"]
        command = gpu["healthcheck"]["test"]
        assert command[:3] == ["CMD", "python", "-c"], name
        compile(command[3], name, "exec")
        assert "worker_key('celery@' + os.uname().nodename)" in command[3]


def test_the_main_host_of_several_publishes_the_database_and_broker_on_a_private_address():
    main = yaml.safe_load((ROOT / "docker-compose.main.yml").read_text())["services"]
    assert set(main) == {"db", "redis"}
    base = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert "ports" not in base["db"] and "ports" not in base["redis"]  # one box: closed
    for name, port in (("db", 5432), ("redis", 6379)):
        (published,) = main[name]["ports"]
        address, host_port, container_port = published.rsplit(":", 2)
        assert address.startswith("${STUDIO_PRIVATE_ADDRESS:?")
        assert int(host_port) == int(container_port) == port


def test_the_grafana_dashboard_charts_series_the_endpoint_serves():
    import json

    from studio.metrics import COUNTERS, HISTOGRAMS

    dashboard = json.loads((ROOT / "docker" / "grafana-dashboard.json").read_text())
    queries = " ".join(
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    )
    served = {"studio_generations", "studio_queue_depth"}
    served |= {f"studio_{name}_total" for name in COUNTERS}
    served |= {f"studio_{name}_bucket" for name in HISTOGRAMS}
    named = set(re.findall(r"studio_[a-z_]+", queries))
    assert named, "no panel queries"
    assert named <= served, named - served
    assert {"studio_generations", "studio_queue_depth", "studio_stage_seconds_bucket"} <= named
