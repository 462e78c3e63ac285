"""The conda files (binder/environment.yml, environment.yml) agree with pyproject.toml.

pyproject.toml is the single source of truth for dependencies. Every runtime dependency must
appear in both conda files, under its conda-forge name, with bounds that admit no version
pyproject forbids (checked on probe versions around every bound). Package names are checked
against a list of conda-forge names read off the conda-forge feedstock recipes (see
CONDA_FORGE_NAMES): conda does not normalise ``_``/``-``, so ``jupyterlab-rise`` (the PyPI
spelling) would fail to resolve where ``jupyterlab_rise`` (the conda-forge package) works.
"""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder" / "environment.yml"
LOCAL = ROOT / "environment.yml"
POSTBUILD = ROOT / "binder" / "postBuild"

#: Package names as conda-forge spells them, read off each feedstock's recipe
#: (conda-forge/<name>-feedstock, recipe/meta.yaml or recipe.yaml: package.name or outputs)
#: on 2026-11-24. Add a name here only after checking it the same way.
CONDA_FORGE_NAMES = {
    "python", "pip",
    "pytorch", "pytorch-cpu",            # outputs of pytorch-cpu-feedstock (also libtorch, pytorch-gpu)
    "torchvision",                       # torchvision-feedstock (cpu and cuda builds)
    "numpy", "scipy", "scikit-learn", "tqdm",
    "matplotlib", "matplotlib-base",     # outputs of matplotlib-feedstock; -base has no Qt
    "ipywidgets", "jupyterlab",
    "jupyterlab_rise",                   # jupyterlab_rise-feedstock: underscore, unlike PyPI's
    "jupyterlab-slideshow",              # jupyterlab-slideshow-feedstock (checked on anaconda.org, 2026-12-01)
    "pytest", "pytest-xdist", "nbval", "nbclient", "nbformat", "pyyaml", "psutil",
    "nbconvert", "nbconvert-core",       # outputs of nbconvert-feedstock; -core has no pandoc
    "nbgrader",                          # nbgrader-feedstock, noarch (0.9.5 on anaconda.org/conda-forge, 2026-12-01)
}

#: PyPI name -> the conda-forge names that provide it.
PYPI_TO_CONDA = {
    "torch": {"pytorch", "pytorch-cpu"},
    "matplotlib": {"matplotlib", "matplotlib-base"},
    "nbconvert": {"nbconvert", "nbconvert-core"},
    "jupyterlab-rise": {"jupyterlab_rise"},
}

#: dev dependencies deliberately left out of environment.yml (the comment there says why).
DEV_NOT_IN_CONDA = {"playwright"}


def _pyproject():
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_conda_spec(entry: str) -> tuple[str, SpecifierSet]:
    """``"ipywidgets>=7.6,<9"`` -> ``("ipywidgets", SpecifierSet(">=7.6,<9"))``.

    Conda's ``=X`` (fuzzy: X or X.*) becomes ``==X.*``; a bare name is unconstrained.
    """
    m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*", entry)
    if not m:
        raise ValueError(f"cannot read conda spec {entry!r}")
    name, spec = m.group(1), m.group(2).replace(" ", "")
    parts = []
    for part in filter(None, spec.split(",")):
        if re.fullmatch(r"=[0-9][0-9.]*", part):
            part = f"={part}.*"
        elif re.fullmatch(r"[0-9][0-9.]*", part):
            part = f"=={part}.*"
        parts.append(part)
    return name, SpecifierSet(",".join(parts))


def _probes(*specs: SpecifierSet) -> list[Version]:
    """Versions at, just above and just below every bound of ``specs``, plus extremes."""
    out = {Version("0.1"), Version("999")}
    for spec in specs:
        for s in spec:
            r = Version(s.version.rstrip(".*")).release
            out.add(Version(".".join(map(str, r))))
            out.add(Version(".".join(map(str, r[:-1] + (r[-1] + 1,)))))
            out.add(Version(".".join(map(str, r + (1,)))))
            if r[-1] > 0:
                out.add(Version(".".join(map(str, r[:-1] + (r[-1] - 1, 99)))))
            elif len(r) > 1 and r[-2] > 0:
                out.add(Version(".".join(map(str, r[:-2] + (r[-2] - 1, 99)))))
            if r[0] > 0:
                out.add(Version(f"{r[0] - 1}.99"))
    return sorted(out)


def assert_compatible(conda: SpecifierSet, pip: SpecifierSet, what: str):
    """Every probe version conda admits, pip admits too; and they share at least one."""
    probes = _probes(conda, pip)
    looser = [str(v) for v in probes if conda.contains(v) and not pip.contains(v)]
    assert not looser, f"{what}: conda admits {looser}, which pyproject forbids ({pip})"
    assert any(conda.contains(v) and pip.contains(v) for v in probes), \
        f"{what}: conda ({conda}) and pyproject ({pip}) admit no common version"


def _load(path: Path) -> dict:
    with open(path) as fh:
        env = yaml.safe_load(fh)
    assert isinstance(env, dict) and "dependencies" in env, f"{path}: not a conda environment file"
    return env


def _conda_deps(path: Path) -> dict[str, SpecifierSet]:
    deps = {}
    for entry in _load(path)["dependencies"]:
        assert isinstance(entry, str), f"{path}: unexpected entry {entry!r} (no pip: section wanted)"
        name, spec = parse_conda_spec(entry)
        assert name not in deps, f"{path}: {name} listed twice"
        deps[name] = spec
    return deps


def _find(deps: dict[str, SpecifierSet], pypi_name: str, path: Path) -> tuple[str, SpecifierSet]:
    names = PYPI_TO_CONDA.get(_canon(pypi_name), {_canon(pypi_name)})
    found = [n for n in deps if n in names]
    assert len(found) == 1, f"{path.name}: expected exactly one of {sorted(names)} for {pypi_name}, found {found}"
    return found[0], deps[found[0]]


# ----------------------------------------------------------------------------------------- tests
def test_spec_parser_and_probe_comparison_catch_looser_bounds():
    assert parse_conda_spec("ipywidgets>=7.6,<9") == ("ipywidgets", SpecifierSet(">=7.6,<9"))
    assert parse_conda_spec("python=3.11") == ("python", SpecifierSet("==3.11.*"))
    assert parse_conda_spec("tqdm") == ("tqdm", SpecifierSet(""))
    pip = SpecifierSet(">=7.6,<9")
    assert_compatible(SpecifierSet(">=7.6,<9"), pip, "same")
    assert_compatible(SpecifierSet(">=8,<9"), pip, "tighter")
    for looser in (">=7.6", ">=7.5,<9", ">=7.6,<10", ""):
        with pytest.raises(AssertionError):
            assert_compatible(SpecifierSet(looser), pip, "looser")
    with pytest.raises(AssertionError):
        assert_compatible(SpecifierSet(">=9"), pip, "disjoint")


@pytest.mark.parametrize("path", [BINDER, LOCAL], ids=["binder", "local"])
def test_conda_file_uses_conda_forge_only(path):
    env = _load(path)
    channels = env.get("channels", [])
    assert channels and channels[0] == "conda-forge", f"{path.name}: conda-forge must be the first channel"
    assert "defaults" not in channels, f"{path.name}: the defaults channel mixes ABIs with conda-forge"


@pytest.mark.parametrize("path", [BINDER, LOCAL], ids=["binder", "local"])
def test_every_package_name_exists_on_conda_forge(path):
    unknown = sorted(set(_conda_deps(path)) - CONDA_FORGE_NAMES)
    assert not unknown, (f"{path.name}: {unknown} not in the checked conda-forge names "
                         "(check the feedstock's recipe, then add it to CONDA_FORGE_NAMES)")


@pytest.mark.parametrize("path", [BINDER, LOCAL], ids=["binder", "local"])
def test_runtime_dependencies_in_conda_file_with_compatible_bounds(path):
    deps = _conda_deps(path)
    runtime = [Requirement(r) for r in _pyproject()["project"]["dependencies"]]
    assert len(runtime) >= 5
    for req in runtime:
        name, spec = _find(deps, req.name, path)
        assert spec, f"{path.name}: {name} has no version bound, pyproject asks {req.specifier}"
        assert_compatible(spec, req.specifier, f"{path.name}: {name}")


@pytest.mark.parametrize("path", [BINDER, LOCAL], ids=["binder", "local"])
def test_python_version_compatible(path):
    deps = _conda_deps(path)
    assert "python" in deps, f"{path.name}: pin python"
    requires = SpecifierSet(_pyproject()["project"]["requires-python"])
    assert_compatible(deps["python"], requires, f"{path.name}: python")


def test_binder_is_cpu_only_and_has_the_lab_and_slides():
    deps = _conda_deps(BINDER)
    assert "pytorch-cpu" in deps and "pytorch" not in deps and "pytorch-gpu" not in deps, \
        "Binder has no GPU: use conda-forge's pytorch-cpu (a far smaller image)"
    for name in ("jupyterlab", "jupyterlab_rise", "jupyterlab-slideshow", "ipywidgets", "matplotlib-base"):
        assert name in deps, f"binder/environment.yml lacks {name}"


def test_local_environment_has_the_dev_tools():
    deps = _conda_deps(LOCAL)
    dev = [Requirement(r) for r in _pyproject()["project"]["optional-dependencies"]["dev"]]
    for req in dev:
        if _canon(req.name) in DEV_NOT_IN_CONDA:
            continue
        name, spec = _find(deps, req.name, LOCAL)
        if spec:
            assert_compatible(spec, req.specifier, f"environment.yml: {name}")


def test_postbuild_installs_ganedu_itself():
    text = POSTBUILD.read_text()
    assert text.startswith("#!"), "binder/postBuild needs a shebang"
    assert os.stat(POSTBUILD).st_mode & stat.S_IXUSR, "binder/postBuild must be executable"
    commands = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    installs = [ln for ln in commands if re.search(r"\bpip install\b", ln)]
    assert len(installs) == 1, f"expected one pip install in postBuild, got {installs}"
    assert "--no-deps" in installs[0], "dependencies come from environment.yml, not pip"
    assert re.search(r"(-e\s+)?\.\s*$", installs[0]), "postBuild must install this repository (.)"


def test_the_course_jupyterlab_settings_keep_the_prompt_column_and_binder_installs_them():
    """jupyterlab-slideshow's default hides the prompt column behind a 64 px overlay that covers
    the left edge of wide outputs (the dashboard's Train button); the course's settings keep it."""
    import json

    overrides = json.loads((ROOT / "jupyterlab" / "overrides.json").read_text())
    assert overrides["jupyterlab-slideshow:plugin"]["showCodeCellPrompt"] is True
    text = POSTBUILD.read_text()
    assert "cp jupyterlab/overrides.json" in text and "share/jupyter/lab/settings" in text
    assert "jupyterlab/overrides.json" in LOCAL.read_text()  # the conda recipe's steps say it too
