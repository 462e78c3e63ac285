"""CONTRIBUTING.md describes the code as it is: every ``ganedu.<...>`` name it writes exists there.

The guide names modules and public names as ``ganedu.module.name`` (or ``ganedu.module`` alone); a
rename that forgets the guide fails here. It must also be self-contained: no links out of the repository.
"""
import importlib
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
GUIDE = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
# `ganedu.a.b.c` in backticks, optionally followed by a call or attribute chain we ignore: (`...(x)`)
DOTTED = re.compile(r"`(ganedu(?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


def documented_names(text: str) -> list[str]:
    return sorted(set(DOTTED.findall(text)))


def resolve(dotted: str):
    """Import the longest module prefix of ``dotted``, then follow the rest as attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)  # AttributeError: the guide names something that is not there
        return obj
    raise ModuleNotFoundError(dotted)


def test_the_guide_names_enough_of_the_package_to_be_checked():
    names = documented_names(GUIDE)
    assert len(names) >= 40, names
    for module in ("ganedu.train", "ganedu.lipschitz", "ganedu.widgets", "ganedu.scale.distributed",
                   "ganedu.batches", "ganedu.checkpoint", "ganedu.recipes"):
        assert any(n == module or n.startswith(module + ".") for n in names), f"no section names {module}"


@pytest.mark.parametrize("dotted", documented_names(GUIDE))
def test_every_documented_name_exists(dotted):
    resolve(dotted)


def test_a_missing_name_is_caught():
    with pytest.raises(AttributeError):
        resolve("ganedu.train.NoSuchThing")
    with pytest.raises((ModuleNotFoundError, AttributeError)):
        resolve("ganedu.assemble.build_models")


def test_the_guide_is_self_contained():
    outside = re.findall(r"\]\((\.\./[^)]*)\)|`(\.\./shared[^`]*)`", GUIDE)
    assert not outside, f"CONTRIBUTING.md points outside the repository: {outside}"


GAN_CODE = sorted(p for p in (ROOT / "ganedu").glob("*.py") if p.name != "__main__.py")
IMPORT = re.compile(r"^\s*from\s+(\.+[\w.]*)\s+import\s+([\w, ]+)|^\s*import\s+(ganedu[\w.]*)", re.M)


def imported_neighbourhoods(path: pathlib.Path) -> set[str]:
    """The sub-packages (``lessons``, ``classroom``, ``scale.x``) a top-level module imports from."""
    found = set()
    for rel, names, absolute in IMPORT.findall(path.read_text(encoding="utf-8")):
        target = absolute.removeprefix("ganedu.") if absolute else rel.lstrip(".")
        if not target:  # from . import a, b
            target = names.split(",")[0].strip()
        head = target.split(".")[0]
        if head in ("lessons", "classroom", "scale"):
            found.add(target if head == "scale" else head)
    return found


@pytest.mark.parametrize("path", GAN_CODE, ids=lambda p: p.name)
def test_the_gan_code_does_not_import_the_lessons_or_the_classroom(path):
    allowed = {"__init__.py": {"scale.cuda_graph"}, "train.py": {"scale.cuda_graph", "scale.distributed"}}.get(path.name, set())
    assert imported_neighbourhoods(path) <= allowed, f"{path.name} imports {imported_neighbourhoods(path)}"


def test_the_import_rule_sees_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from .lessons.showdown import score\n    from .scale import population\n")
    assert imported_neighbourhoods(bad) == {"lessons", "scale"}
