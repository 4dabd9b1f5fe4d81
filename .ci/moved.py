"""Print the packages whose installed version differs from constraints.txt ("which package moved").

Run with the virtualenv's interpreter: ``python .ci/moved.py constraints.txt``. Always exits 0; it
only explains a red newest-dependencies run.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(path: str) -> dict[str, str]:
    pins = {}
    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[_key(name)] = version.strip()
    return pins


def main(path: str) -> int:
    pins = pinned(path)
    installed = {_key(d.metadata["Name"]): d.version for d in metadata.distributions()}
    moved = [
        f"{name} {pins[name]} -> {installed[name]}"
        for name in sorted(pins.keys() & installed.keys())
        if pins[name] != installed[name]
    ]
    added = sorted(installed.keys() - pins.keys() - {"pip", "setuptools", "wheel", "posthog-contract"})
    print("moved since constraints.txt: " + (", ".join(moved) if moved else "nothing"))
    if added:
        print("not in constraints.txt: " + ", ".join(f"{name} {installed[name]}" for name in added))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "constraints.txt"))
