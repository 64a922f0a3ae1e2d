"""Command line: ``python -m diffusion_worker capabilities`` or ``... generate SPEC.json``.

``capabilities`` prints every preset as JSON, with whether its weights are on this
machine; ``generate`` runs one job spec in this process (a GPU smoke test without Celery)
and prints progress lines and then the result as JSON.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def main(argv: list[str]) -> int:
    if len(argv) == 1 and argv[0] == "capabilities":
        from diffusion_worker.presets import PRESETS, capabilities
        from diffusion_worker.runtime import model_available

        caps = [{**c, "available": model_available(PRESETS[c["id"]])} for c in capabilities()]
        print(json.dumps(caps, indent=2))
        return 0
    if len(argv) == 2 and argv[0] == "generate":
        from diffusion_worker.errors import DiffusionJobError
        from diffusion_worker.generate import generate

        with open(argv[1], encoding="utf-8") as fh:
            spec: dict[str, Any] = json.load(fh)
        try:
            result = generate(
                spec, on_progress=lambda meta: print(json.dumps(meta), file=sys.stderr)
            )
        except DiffusionJobError as exc:
            print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        print(json.dumps(result, indent=2))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
