"""Throwaway user projects (own package, own pyproject.toml) for the packaging tests."""

from __future__ import annotations

import json
from pathlib import Path

# A task app as a user writes it: its own dependency (iniconfig, pure Python and tiny).
TASKS = """
from iniconfig import IniConfig
from pydantic import BaseModel

from taskworker import TaskApp

app = TaskApp("{package}")


class Order(BaseModel):
    order_id: str


class Receipt(BaseModel):
    text: str


@app.task("order.receipt", timeout=60)
def receipt(order: Order) -> Receipt:
    shop = IniConfig("shop.ini", data="[shop]\\nname = corner\\n")["shop"]["name"]
    text = f"{{shop}} receipt for {{order.order_id}}"
    print(json.dumps({{"receipt": text}}))
    return Receipt(text=text)
"""


def make_project(root: Path, package: str, *, dependencies: list[str], layout: str = "flat") -> Path:
    """Write ``root/pyproject.toml`` and the package (``src/`` layout on request); returns
    the directory to put on ``sys.path``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "{package}"\nversion = "0.1.0"\ndependencies = {json.dumps(dependencies)}\n'
    )
    code_root = root / "src" if layout == "src" else root
    (code_root / package).mkdir(parents=True)
    (code_root / package / "__init__.py").write_text("")
    (code_root / package / "tasks.py").write_text("import json\n" + TASKS.format(package=package))
    return code_root
