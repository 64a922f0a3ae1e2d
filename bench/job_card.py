"""What a job-card poll costs the web server, at two revisions, under gunicorn on loopback.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/studio_bench \\
    STUDIO_CACHE_URL=redis://127.0.0.1:6379/3 \\
    .venv/bin/python bench/job_card.py --creators 1000 --seconds 30 --runs 3  # e24ec67 vs tree

Needs PostgreSQL (DATABASE_URL; the database is created and migrated) and, for the cached
sessions and users, Redis (STUDIO_CACHE_URL; a revision that does not read it ignores it).
For each revision (a temporary git worktree; "." is the working tree) it starts gunicorn
(``--workers`` gthread workers with ``--threads`` threads, keep-alive, as a browser's
htmx poll would meet it) and then, alternating revisions run by run:

1. CPU per poll: ``--polls`` job-card polls from 8 clients back to back; the server's CPU
   (user + system of gunicorn's master and workers, from /proc) divided by the polls.
   Each client follows the card as htmx does: its next poll asks the address the last
   card named, and a 204 (the card unchanged, where a revision answers so) counts as
   answered. The bench's jobs do not move, so every poll after the first is "unchanged".
2. Load: ``--creators`` signed-in creators, each on its own keep-alive connection polling
   its own running job's card every ``--interval`` seconds (the card's hx-trigger) from a
   random phase, for ``--seconds``; latency is taken from the moment the poll was due (so a
   client that falls behind counts its wait). Prints p50 / p99 / max, errors (anything but
   a 200 with the card in it, and failed connections), polls answered, and CPU per poll.

Medians of ``--runs``; the spread (max - min) of CPU per poll is the noise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import revision_trees  # noqa: E402

BEFORE = "e24ec67"
POLL_TIMEOUT = 10.0
SECRET = "bench-requests-secret-key-not-for-production"

# Run in the revision's tree: creators with a running job each and a signed-in session for
# each (the session names the tree's own auth backend). Prints the pairs as JSON.
SETUP = r"""
import json, sys
import django
django.setup()
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, BACKEND_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.utils import timezone
from generations.models import Generation
call_command("migrate", verbosity=0)
count = int(sys.argv[1])
have = {u.username: u for u in User.objects.filter(username__startswith="bench-")}
new = [User(username=f"bench-{i}") for i in range(count) if f"bench-{i}" not in have]
for user in new:
    user.set_unusable_password()
User.objects.bulk_create(new)
users = list(User.objects.filter(username__startswith="bench-").order_by("id")[:count])
jobs = {g.owner_id: g for g in Generation.objects.filter(owner__in=users, state="running")}
Generation.objects.bulk_create(
    Generation(owner=u, prompt="a lighthouse at dusk", provider="offline", seed=1,
               seconds=5, resolution="480p", state="running", progress=40,
               admitted_at=timezone.now())
    for u in users if u.pk not in jobs
)
jobs = {g.owner_id: g for g in Generation.objects.filter(owner__in=users, state="running")}
out = []
for user in users:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    out.append([session.session_key, str(jobs[user.pk].pk)])
print(json.dumps(out))
"""


def _create_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.strip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(tree: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(tree),
        "DJANGO_SETTINGS_MODULE": "studio.settings",
        "SECRET_KEY": SECRET,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        # As behind compose's TLS proxy: production's HTTPS redirect stays on, and the
        # clients' X-Forwarded-Proto says the request came in over HTTPS.
        "SECURE_PROXY_SSL_HEADER": "1",
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its children (gunicorn's workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        this, parent = int(stat.parent.name), int(fields[1])
        if this == pid or parent == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


class Server:
    def __init__(self, tree: Path, workers: int, threads: int, var: Path) -> None:
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "studio.wsgi"),
                *("-k", "gthread", "--workers", str(workers), "--threads", str(threads)),
                *("--bind", f"127.0.0.1:{self.port}", "--keep-alive", "30"),
                *("--backlog", "4096", "--worker-connections", "4000"),
            ],
            cwd=tree,
            env={**_env(tree), "STUDIO_VAR_DIR": str(var)},
            stdout=subprocess.DEVNULL,
            stderr=(var / "gunicorn.log").open("wb"),
        )
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit((var / "gunicorn.log").read_text()[-2000:])
            time.sleep(0.2)

    def cpu(self) -> float:
        return _cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:  # still waiting on idle keep-alive connections
            self.proc.kill()
            self.proc.wait(5)


class Client:
    """One creator's browser tab: a keep-alive connection polling one job card."""

    def __init__(self, port: int, session_key: str, job: str) -> None:
        self.port = port
        self.session_key = session_key
        self.request = self._request(f"/generations/{job}/card/")
        self.marker = f'id="job-{job}"'.encode()
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    def _request(self, path: str) -> bytes:
        return (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Cookie: sessionid={self.session_key}\r\nHX-Request: true\r\n"
            "X-Forwarded-Proto: https\r\n\r\n"
        ).encode()

    def _follow(self, body: bytes) -> None:
        """As htmx does: the next poll asks the address the swapped-in card names (which,
        where a revision has it, carries the fingerprint of what the card shows)."""
        found = re.search(rb'hx-get="([^"]+)"', body)
        if found:
            self.request = self._request(found.group(1).decode().replace("&amp;", "&"))

    async def poll(self) -> bool:
        """One poll; True when it got a 200 with the card in it within POLL_TIMEOUT."""
        try:
            return await asyncio.wait_for(self._poll(), POLL_TIMEOUT)
        except TimeoutError:
            self.close()
            self.streams = None
            return False

    async def _poll(self) -> bool:
        for attempt in range(2):
            try:
                if self.streams is None:
                    self.streams = await asyncio.open_connection("127.0.0.1", self.port)
                reader, writer = self.streams
                writer.write(self.request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                if b"connection: close" in head.lower():
                    writer.close()
                    self.streams = None
                if head.startswith(b"HTTP/1.1 204"):  # unchanged: htmx keeps the card
                    return True
                ok = head.startswith(b"HTTP/1.1 200") and self.marker in body
                if ok:
                    self._follow(body)
                return ok
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                self.streams = None
                if attempt:
                    return False
        return False

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()


async def _back_to_back(port: int, pairs: list[list[str]], polls: int) -> int:
    clients = [Client(port, *pairs[i % len(pairs)]) for i in range(8)]
    done = 0

    async def run(client: Client) -> None:
        nonlocal done
        while done < polls:
            done += 1
            await client.poll()

    await asyncio.gather(*(run(c) for c in clients))
    for client in clients:
        client.close()
    return done


async def _load(
    port: int, pairs: list[list[str]], seconds: float, interval: float
) -> tuple[list[float], int]:
    clients = [Client(port, *pair) for pair in pairs]
    latencies: list[float] = []
    errors = 0
    loop = asyncio.get_running_loop()
    start = loop.time() + 1.0
    end = start + seconds

    async def creator(client: Client) -> None:
        nonlocal errors
        due = start + random.random() * interval
        while due < end:
            await asyncio.sleep(max(0.0, due - loop.time()))
            ok = await client.poll()
            latencies.append(loop.time() - due)
            errors += not ok
            due += interval

    await asyncio.gather(*(creator(c) for c in clients))
    for client in clients:
        client.close()
    return latencies, errors


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revs", nargs="*", default=[BEFORE, "."])
    parser.add_argument("--creators", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--polls", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database (created if missing).")
    _create_database(os.environ["DATABASE_URL"])
    random.seed(17)
    with (
        tempfile.TemporaryDirectory(prefix="studio-requests-") as tmp,
        revision_trees(args.revs, Path(tmp)) as trees,
    ):
        rows: dict[str, list[dict[str, float]]] = {rev: [] for rev in args.revs}
        pairs: dict[str, list[list[str]]] = {}
        for rev, tree in trees.items():
            done = subprocess.run(
                [sys.executable, "-c", SETUP, str(args.creators)],
                cwd=tree,
                env={**_env(tree), "STUDIO_VAR_DIR": tmp},
                capture_output=True,
                text=True,
            )
            if done.returncode:
                raise SystemExit(done.stderr[-3000:])
            pairs[rev] = json.loads(done.stdout.strip().splitlines()[-1])
        for run in range(args.runs):
            for rev, tree in trees.items():
                server = Server(tree, args.workers, args.threads, Path(tmp))
                try:
                    asyncio.run(_back_to_back(server.port, pairs[rev], 200))  # warm up
                    cpu = server.cpu()
                    polls = asyncio.run(_back_to_back(server.port, pairs[rev], args.polls))
                    per_poll = (server.cpu() - cpu) / polls
                    cpu = server.cpu()
                    latencies, errors = asyncio.run(
                        _load(server.port, pairs[rev], args.seconds, args.interval)
                    )
                    load_cpu = (server.cpu() - cpu) / max(1, len(latencies))
                finally:
                    server.stop()
                row = {
                    "cpu_ms": per_poll * 1000,
                    "load_cpu_ms": load_cpu * 1000,
                    "p50": _percentile(latencies, 0.5) * 1000,
                    "p99": _percentile(latencies, 0.99) * 1000,
                    "max": max(latencies) * 1000,
                    "errors": errors,
                    "polls": len(latencies),
                }
                rows[rev].append(row)
                print(
                    f"run {run + 1} {rev}: {row['cpu_ms']:.2f} ms CPU per poll back to back; "
                    f"{args.creators} creators: p50 {row['p50']:.0f} ms, p99 "
                    f"{row['p99']:.0f} ms, max {row['max']:.0f} ms, {errors} errors in "
                    f"{len(latencies)} polls, {row['load_cpu_ms']:.2f} ms CPU per poll",
                    flush=True,
                )
    print(
        f"\n{args.creators} creators polling every {args.interval:g} s for {args.seconds:g} s, "
        f"gunicorn gthread {args.workers}x{args.threads}, median of {args.runs}"
        f"\n{'revision':<10} {'CPU/poll':>9} {'(spread)':>9} {'under load':>11} "
        f"{'p50':>7} {'p99':>7} {'max':>7} {'errors':>7} {'polls':>7}"
    )
    for rev, results in rows.items():

        def med(key: str, results: list[dict[str, float]] = results) -> float:
            return statistics.median(r[key] for r in results)

        spread = max(r["cpu_ms"] for r in results) - min(r["cpu_ms"] for r in results)
        print(
            f"{rev:<10} {med('cpu_ms'):>7.2f}ms {spread:>7.2f}ms {med('load_cpu_ms'):>9.2f}ms "
            f"{med('p50'):>5.0f}ms {med('p99'):>5.0f}ms {med('max'):>5.0f}ms "
            f"{max(r['errors'] for r in results):>7.0f} {med('polls'):>7.0f}"
        )


if __name__ == "__main__":
    main()
