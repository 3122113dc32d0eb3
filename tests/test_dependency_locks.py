"""The two locks, read without the network: what production installs (requirements.lock) and
what development adds (requirements-dev.lock) agree with pyproject.toml and with each other.

`python3 dev.py lock` writes them; these tests catch a hand edit, a lock not regenerated after
a change to pyproject.toml, and a test tool that slipped into the runtime lock. The dependency
graph comes from the installed packages' own metadata: `dev.py test` installs both locks first.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
SHA256 = re.compile(r"sha256:[0-9a-f]{64}")
COMMENT = re.compile(r"(^|\s)#.*")  # as pip reads requirement files


@dataclass(frozen=True)
class Pin:
    requirement: Requirement
    hashes: tuple[str, ...]

    @property
    def version(self) -> str:
        (specifier,) = self.requirement.specifier
        return specifier.version

    def applies_here(self) -> bool:
        """Whether pip installs it on this interpreter (a marker may limit it to Windows, or
        to Python 3.11.0-3.11.2)."""
        marker = self.requirement.marker
        return marker is None or marker.evaluate()


def read_lock(path: Path) -> dict[str, Pin]:
    """The lock's pins by canonical name. A line is `name==version [; marker]` followed by
    its `--hash=` options, continued over several lines with backslashes."""
    text = path.read_text().replace("\\\n", " ")
    pins: dict[str, Pin] = {}
    for line in text.splitlines():
        line = COMMENT.sub("", line).strip()
        if not line:
            continue
        spec, *hashes = (part.strip() for part in line.split("--hash="))
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name not in pins, f"{path.name} pins {name} twice"
        pins[name] = Pin(requirement, tuple(hashes))
    return pins


def pyproject_requirements() -> tuple[list[Requirement], list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = [Requirement(r) for r in project["dependencies"]]
    dev = [Requirement(r) for r in project["optional-dependencies"]["dev"]]
    return runtime, dev


def installed_closure(roots: Iterable[Requirement]) -> dict[str, str]:
    """Canonical name -> installed version of every package that `roots` need on this
    interpreter, following each installed package's declared requirements and extras."""
    found: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    pending = [(r, "") for r in roots]
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        distribution = metadata.distribution(name)
        found[name] = distribution.version
        for wanted_extra in {"", *requirement.extras}:
            if (name, wanted_extra) in seen:
                continue
            seen.add((name, wanted_extra))
            pending += [(Requirement(r), wanted_extra) for r in distribution.requires or []]
    return found


def installed_here(lock: dict[str, Pin]) -> dict[str, str]:
    return {name: pin.version for name, pin in lock.items() if pin.applies_here()}


@pytest.mark.parametrize("lock_path", [RUNTIME_LOCK, DEV_LOCK], ids=lambda p: p.name)
def test_it_pins_every_locked_package_to_one_version_with_its_hashes(lock_path: Path) -> None:
    pins = read_lock(lock_path)

    assert pins
    for name, pin in pins.items():
        (specifier,) = pin.requirement.specifier
        assert specifier.operator == "==", name
        assert "*" not in specifier.version, name
        assert pin.requirement.url is None, name
        assert pin.hashes, f"{lock_path.name}: {name} has no hash, so pip would refuse it"
        assert all(SHA256.fullmatch(h) for h in pin.hashes), name


def test_it_locks_every_runtime_dependency_at_a_version_pyproject_allows() -> None:
    runtime, _ = pyproject_requirements()
    pins = read_lock(RUNTIME_LOCK)

    for requirement in runtime:
        pin = pins.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement.name} is missing: run python3 dev.py lock"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"{requirement} does not allow the locked {pin.version}: run python3 dev.py lock"
        )


def test_it_keeps_the_dev_tools_out_of_the_runtime_lock() -> None:
    _, dev = pyproject_requirements()
    runtime_names = set(read_lock(RUNTIME_LOCK))

    dev_names = {canonicalize_name(r.name) for r in dev}
    assert {"selenium", "schemathesis", "pytest", "ruff"} <= dev_names
    assert dev_names.isdisjoint(runtime_names)


def test_it_pins_what_both_locks_share_to_the_same_version() -> None:
    runtime = read_lock(RUNTIME_LOCK)
    dev = read_lock(DEV_LOCK)

    # The dev lock alone installs a whole environment, the runtime lock's pins included.
    assert set(runtime) <= set(dev)
    assert {n: p.version for n, p in runtime.items()} == {n: dev[n].version for n in runtime}


def test_it_installs_exactly_the_runtime_dependencies_from_the_runtime_lock() -> None:
    runtime, _ = pyproject_requirements()

    # Nothing the console imports is missing (a production install would fail to start), and
    # nothing else is there; the versions are the ones the suite runs with.
    assert installed_here(read_lock(RUNTIME_LOCK)) == installed_closure(runtime)


def test_it_installs_exactly_the_test_environment_from_the_dev_lock() -> None:
    runtime, dev = pyproject_requirements()

    assert installed_here(read_lock(DEV_LOCK)) == installed_closure([*runtime, *dev])
