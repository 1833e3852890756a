"""The code passes its own linters, type checker and import contract, and the wheel ships the
product only (part of the one test command; ``python -m pytest tests/test_quality.py`` alone)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("alpaca_sony", "testing", "tests", "bench", "conformance")


def _run(*command: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_ruff_check() -> None:
    result = _run("ruff", "check", *SOURCES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = _run("ruff", "format", "--check", *SOURCES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    # lint-imports puts its working directory first on sys.path, so a copy is checked as itself.
    return subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=cwd, capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": str(cwd)},
    )  # fmt: skip


def test_the_import_contract_holds() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " BROKEN" not in result.stdout and "0 broken" in result.stdout


def _copy_tree(target: Path) -> None:
    for name in ("alpaca_sony", "testing"):
        shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", target)
    shutil.copy(ROOT / "README.md", target)


def test_the_import_contract_fails_on_a_planted_upward_import(tmp_path: Path) -> None:
    _copy_tree(tmp_path)
    codes = tmp_path / "alpaca_sony" / "sony" / "codes.py"
    codes.write_text(codes.read_text() + "\nfrom alpaca_sony.camera import state  # planted\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "alpaca_sony.sony.codes -> alpaca_sony.camera.state" in result.stdout


def _shipped_sources() -> set[str]:
    return {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "alpaca_sony").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_the_wheel_ships_the_product_and_no_test_rigs(tmp_path: Path) -> None:
    _copy_tree(tmp_path)  # a copy: building leaves build/ and egg-info behind
    built = _run("pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path / "dist"), ".",
                 cwd=tmp_path)  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp_path / "dist").glob("alpaca_sony-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    package = {name for name in names if not name.startswith("alpaca_sony-")}
    assert package == _shipped_sources()
    assert not any("umockdev" in name or name.startswith("testing/") for name in names)
    assert "alpaca_sony/simulator/body.py" in package  # --simulator is part of the product
