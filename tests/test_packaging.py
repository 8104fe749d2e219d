"""What we ship: the .desktop and AppStream files, the icons, and the wheel as a user installs it.

The wheel tests build it with ``scripts/package wheel``, install it with ``--no-deps`` into a fresh
venv that sees this venv's site-packages through a ``.pth`` line (fast, yet ``segment_desktop``
itself can only come from the wheel: the editable install's hook is not run), then run the
installed ``segment-desktop`` through ``packaging/smoke.py``, the same checks
``scripts/package bundle`` runs against the PyInstaller bundle.
"""

from __future__ import annotations

import configparser
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINUX = ROOT / "packaging" / "linux"
DESKTOP_FILE = LINUX / "segment-desktop.desktop"
METAINFO = LINUX / "io.github.segment_desktop.SegmentDesktop.metainfo.xml"
ICONS = ROOT / "segment_desktop" / "resources" / "icons" / "hicolor"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)
TEMPLATE_KEYS = (
    "checkout_started",
    "order_completed",
    "order_updated",
    "order_refunded",
    "order_cancelled",
    "customer_created",
    "customer_updated",
)


def _load(name: str, path: Path) -> ModuleType:
    """A module of ``packaging/`` (not a package: its name would shadow PyPI's ``packaging``)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


smoke = _load("segment_desktop_packaging_smoke", ROOT / "packaging" / "smoke.py")


def _tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: install the Debian package {package}")
    return found


# -- desktop integration files -----------------------------------------------------------------


def test_desktop_file_validates_and_names_our_command_and_icon() -> None:
    result = subprocess.run(
        [_tool("desktop-file-validate", "desktop-file-utils"), str(DESKTOP_FILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout.lower()
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(DESKTOP_FILE, encoding="utf-8")
    section = entry["Desktop Entry"]
    assert section["Version"] == "1.4"
    assert section["Categories"] == "Development;Network;"
    # what the wheel's gui-script installs, and the icon name the PNGs/SVG are installed under
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'{section["Exec"]} = "segment_desktop.cli:main"' in pyproject
    assert (ICONS / "scalable" / "apps" / f"{section['Icon']}.svg").is_file()


def test_metainfo_validates_and_launches_the_desktop_file() -> None:
    result = subprocess.run(
        [_tool("appstreamcli", "appstream"), "validate", "--no-net", str(METAINFO)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = METAINFO.read_text()
    assert f'<launchable type="desktop-id">{DESKTOP_FILE.name}</launchable>' in text
    from segment_desktop import __version__

    assert f'<release version="{__version__}"' in text, "add this version to <releases>"


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


@pytest.mark.parametrize("size", ICON_SIZES)
def test_each_icon_size_is_a_png_of_that_size(size: int) -> None:
    assert _png_size(ICONS / f"{size}x{size}" / "apps" / "segment-desktop.png") == (size, size)


@pytest.mark.gui
def test_pngs_are_rendered_from_the_current_svg(qapp: object) -> None:
    """Edited the SVG? Run ``python packaging/render_icons.py`` and commit the PNGs."""
    from PySide6.QtGui import QImage
    from PySide6.QtSvg import QSvgRenderer

    render_icons = _load(
        "segment_desktop_packaging_render_icons", ROOT / "packaging" / "render_icons.py"
    )
    renderer = QSvgRenderer(str(render_icons.SVG))
    assert renderer.isValid()
    assert tuple(render_icons.SIZES) == ICON_SIZES
    for size in ICON_SIZES:
        fresh = render_icons.render(renderer, size)
        stored = QImage(str(render_icons.png_path(size))).convertToFormat(fresh.format())
        assert stored.size() == fresh.size()
        worst = max(
            abs(a - b)
            for a, b in zip(bytes(fresh.constBits()), bytes(stored.constBits()), strict=True)
        )
        assert worst <= 8, f"{size}px PNG differs from the SVG (channel difference {worst})"
        # the mark itself: the square's green fills the middle of the top-left quarter
        assert stored.pixelColor(size // 8 + 1, size // 2).name() == "#2f6b5b"


# -- the wheel, installed ------------------------------------------------------------------------


@dataclass
class Installed:
    wheel: Path
    venv: Path
    exe: Path
    site_packages: Path


def _run(args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=180, check=False, **kw)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    root = tmp_path_factory.mktemp("wheel")
    env = {**os.environ, "PYTHON": sys.executable}
    built = _run([str(ROOT / "scripts" / "package"), "wheel", str(root / "dist")], env=env)
    wheel = Path(built.stdout.strip().splitlines()[-1])
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
    )
    # this venv's dependencies (PySide6, httpx, …) without its editable segment_desktop
    outer = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "outer-venv.pth").write_text("\n".join(sorted(outer)) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
          str(wheel)])  # fmt: skip
    yield Installed(
        wheel=wheel, venv=venv, exe=venv / "bin" / "segment-desktop", site_packages=site
    )


@pytest.mark.slow
def test_wheel_carries_templates_samples_icons_and_the_gui_script(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = wheel.read(entry_points).decode()
    resources = "segment_desktop/resources/"
    for key in TEMPLATE_KEYS:
        assert f"{resources}templates/{key}.jsonata" in names
    samples = {n for n in names if n.startswith(f"{resources}samples/") and n.endswith(".json")}
    assert f"{resources}samples/order.paid.json" in samples
    assert len(samples) >= 10
    for size in ICON_SIZES:
        assert f"{resources}icons/hicolor/{size}x{size}/apps/segment-desktop.png" in names
    assert f"{resources}icons/hicolor/scalable/apps/segment-desktop.svg" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert "[gui_scripts]\nsegment-desktop = segment_desktop.cli:main" in scripts


@pytest.mark.slow
def test_installed_package_comes_from_the_wheel_not_the_checkout(installed: Installed) -> None:
    result = _run(
        [str(installed.venv / "bin" / "python"), "-c",
         "import segment_desktop; print(segment_desktop.__file__)"],
        cwd=installed.venv,
    )  # fmt: skip
    assert Path(result.stdout.strip()).is_relative_to(installed.site_packages)


@pytest.mark.slow
@pytest.mark.parametrize("check", smoke.CHECKS)
def test_installed_wheel_passes_the_smoke_check(
    installed: Installed, check: str, tmp_path: Path
) -> None:
    outcome = smoke.CHECK_FUNCTIONS[check](installed.exe, tmp_path)
    assert outcome


@pytest.mark.slow
def test_render_uses_a_sample_from_the_installed_wheel(installed: Installed) -> None:
    sample = smoke.resource(installed.exe, "samples/order.paid.json")
    assert sample.is_relative_to(installed.site_packages)


def test_smoke_check_fails_on_a_wrong_version(tmp_path: Path) -> None:
    """The smoke checks can fail: a stand-in executable printing another version is caught."""
    fake = tmp_path / "segment-desktop"
    fake.write_text("#!/bin/sh\necho segment-desktop 0.0.0-not-us\n")
    fake.chmod(0o755)
    with pytest.raises(smoke.SmokeFailure, match="--version should print"):
        smoke.check_version(fake, tmp_path)
    with pytest.raises(smoke.SmokeFailure, match="render"):
        smoke.check_render(
            fake, tmp_path, sample=ROOT / "segment_desktop/resources/samples/order.paid.json"
        )
