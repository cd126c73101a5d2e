"""Fetch GetStream's web SDK at test time and bundle it with the test page's script.

``@stream-io/video-client`` (under Stream's own licence) is never committed nor shipped:
``npm install`` puts a pinned version and a pinned esbuild into a cache directory outside the
repository, and esbuild bundles ``page.js`` with the SDK into one IIFE script. The page
directory (``index.html`` + ``bundle.js``) is rebuilt only when the versions or the page
files change, so after the first run (about ten seconds) a test session starts at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

#: The web SDK version the tests run (the one issue 17 was observed with).
VIDEO_CLIENT_VERSION = "1.60.0"
ESBUILD_VERSION = "0.28.2"

HERE = Path(__file__).resolve().parent
PAGE_FILES = ("page.js", "index.html")
NPM_TIMEOUT_S = 300.0


class WebSdkUnavailable(RuntimeError):
    """Node, npm or the registry is missing: the web SDK page cannot be built."""


def cache_root() -> Path:
    """The cache directory: ``$PIPECAT_GETSTREAM_WEBSDK_CACHE``, else under the XDG cache."""
    explicit = os.environ.get("PIPECAT_GETSTREAM_WEBSDK_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pipecat-getstream" / "websdk"


def _run(args: list[str], cwd: Path) -> None:
    try:
        done = subprocess.run(
            args, cwd=cwd, capture_output=True, text=True, timeout=NPM_TIMEOUT_S, check=False
        )
    except FileNotFoundError as exc:
        raise WebSdkUnavailable(f"{args[0]} is not installed: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise WebSdkUnavailable(f"{' '.join(args)} timed out after {NPM_TIMEOUT_S:.0f} s") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-2000:]
        raise WebSdkUnavailable(f"{' '.join(args)} failed ({done.returncode}):\n{tail}")


def _install(modules_dir: Path) -> None:
    """``npm install`` the pinned packages into ``modules_dir`` (atomically)."""
    if (modules_dir / "node_modules" / "@stream-io" / "video-client" / "package.json").exists():
        return
    if shutil.which("npm") is None or shutil.which("node") is None:
        raise WebSdkUnavailable("node and npm are needed to fetch @stream-io/video-client")
    staging = Path(tempfile.mkdtemp(prefix="install-", dir=modules_dir.parent))
    try:
        manifest = {
            "name": "pipecat-getstream-websdk-test-page",
            "private": True,
            "dependencies": {
                "@stream-io/video-client": VIDEO_CLIENT_VERSION,
                "esbuild": ESBUILD_VERSION,
            },
        }
        (staging / "package.json").write_text(json.dumps(manifest, indent=2))
        # esbuild's binary comes from its per-platform optional dependency; no install
        # script of any package is needed.
        _run(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts"], staging)
        shutil.rmtree(modules_dir, ignore_errors=True)
        staging.rename(modules_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _page_digest() -> str:
    digest = hashlib.sha256(f"{VIDEO_CLIENT_VERSION}/{ESBUILD_VERSION}".encode())
    for name in PAGE_FILES:
        digest.update((HERE / name).read_bytes())
    return digest.hexdigest()[:16]


def ensure_page() -> Path:
    """Return a directory holding ``index.html`` and ``bundle.js``, building it if needed.

    Raises:
        WebSdkUnavailable: node/npm missing, or the install or the bundling failed.

    """
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    modules_dir = root / f"video-client-{VIDEO_CLIENT_VERSION}-esbuild-{ESBUILD_VERSION}"
    page_dir = root / f"page-{_page_digest()}"
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (page_dir / "bundle.js").exists():
            return page_dir
        _install(modules_dir)
        staging = Path(tempfile.mkdtemp(prefix="page-", dir=root))
        try:
            shutil.copy(HERE / "page.js", modules_dir / "page.js")
            esbuild = modules_dir / "node_modules" / ".bin" / "esbuild"
            _run(
                [
                    str(esbuild),
                    "page.js",
                    "--bundle",
                    "--format=iife",
                    "--platform=browser",
                    "--target=chrome110",
                    "--log-level=error",
                    f"--outfile={staging / 'bundle.js'}",
                ],
                modules_dir,
            )
            shutil.copy(HERE / "index.html", staging / "index.html")
            shutil.rmtree(page_dir, ignore_errors=True)
            staging.rename(page_dir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        for old in root.glob("page-*"):  # pages of earlier versions of the page files
            if old != page_dir:
                shutil.rmtree(old, ignore_errors=True)
    return page_dir


if __name__ == "__main__":
    print(ensure_page())
