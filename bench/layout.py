"""The layout's figures at two revisions side by side: deferred imports (imports inside a
function), pairs of modules that import each other, and the largest modules. Reads the
files from git, so any two commits compare without a checkout.

    .venv/bin/python bench/layout.py            # 4854a74 (before issue 9) against HEAD
    .venv/bin/python bench/layout.py REV1 REV2
"""

from __future__ import annotations

import argparse
import ast
import subprocess
from collections import defaultdict
from dataclasses import dataclass

APP_CODE_EXCLUDED = ("tests/", "bench/", "workers/", "/migrations/")
BEFORE = "4854a74"  # the last commit before the redesign


@dataclass
class Figures:
    deferred: list[str]
    largest: list[tuple[int, str]]


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


def _app_files(rev: str) -> list[str]:
    names = _git("ls-tree", "-r", "--name-only", rev).splitlines()
    return [n for n in names if n.endswith(".py") and not any(x in n for x in APP_CODE_EXCLUDED)]


def _module(path: str) -> str:
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def figures(rev: str) -> Figures:
    deferred: list[str] = []
    sizes: list[tuple[int, str]] = []
    for path in _app_files(rev):
        source = _git("show", f"{rev}:{path}")
        sizes.append((source.count("\n"), path))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Import | ast.ImportFrom):
                        deferred.append(f"{path}:{inner.lineno}: {ast.unparse(inner)}")
    return Figures(deferred, sorted(sizes, reverse=True)[:5])


def _modules_importing_each_other(rev: str) -> list[tuple[str, str]]:
    """Pairs of modules (within the app code) that import each other, directly."""
    imports: dict[str, set[str]] = defaultdict(set)
    for path in _app_files(rev):
        tree = ast.parse(_git("show", f"{rev}:{path}"))
        me = _module(path)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                imports[me].add(node.module)
                imports[me].update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                imports[me].update(a.name for a in node.names)
    return sorted((a, b) for a in imports for b in imports[a] if a < b and a in imports.get(b, ()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revs", nargs="*", default=[BEFORE, "HEAD"])
    args = parser.parse_args()
    rows = []
    for rev in args.revs:
        found = figures(rev)
        mutual = _modules_importing_each_other(rev)
        rows.append((rev, found, mutual))
    print(
        f"{'revision':<10} {'deferred imports':>16} {'module pairs importing each other':>34}"
        f" {'largest module':>40}"
    )
    for rev, found, mutual in rows:
        lines, path = found.largest[0]
        print(f"{rev:<10} {len(found.deferred):>16} {len(mutual):>34} {f'{path} ({lines})':>40}")
    for rev, found, mutual in rows:
        print(f"\n{rev}: deferred imports")
        for line in found.deferred:
            print("  " + line)
        print(f"{rev}: modules that import each other: {mutual or 'none'}")
        print(f"{rev}: largest modules: " + ", ".join(f"{p} ({n})" for n, p in found.largest))


if __name__ == "__main__":
    main()
