"""House style: a module is split by concern before it passes ~450 lines (migrations, which
Django writes, aside)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 450
FOLDERS = ("andon", "mes", "exceptions", "quality", "integrations", "tests", "bench")


def test_no_python_file_is_over_the_limit():
    too_long = {
        str(path.relative_to(ROOT)): lines
        for folder in FOLDERS
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "migrations" not in path.parts and (lines := len(path.read_text().splitlines())) > LIMIT
    }
    assert too_long == {}
