"""The layers are checked, not remembered: `make lint` runs import-linter with the contracts in
pyproject.toml, and a model that imports a service breaks it."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("andon", "mes", "exceptions", "quality", "integrations")
LINT = Path(sys.executable).parent / "lint-imports"


def lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [str(LINT), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": str(LINT.parent)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def copy_tree(target: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def test_the_layer_contracts_hold(tmp_path):
    result = lint(copy_tree(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_model_importing_a_service_breaks_the_lint(tmp_path):
    tree = copy_tree(tmp_path)
    model = tree / "exceptions" / "models" / "config.py"
    model.write_text(model.read_text() + "\nfrom exceptions.services import tickets  # noqa\n")
    result = lint(tree)
    assert result.returncode != 0
    assert "exceptions.models is not allowed to import exceptions.services" in result.stdout


def test_a_service_importing_the_api_breaks_the_lint(tmp_path):
    tree = copy_tree(tmp_path)
    service = tree / "integrations" / "erp" / "inbound" / "orders.py"
    service.write_text(service.read_text() + "\nfrom mes.api import errors  # noqa\n")
    result = lint(tree)
    assert result.returncode != 0
    assert "integrations.erp.inbound is not allowed to import mes.api" in result.stdout
