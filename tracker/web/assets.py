"""Static assets under fingerprinted names, sent gzipped with year-long cache headers.

Why: plotly.js alone is 4.8 MB; sent uncompressed and revalidated on every page it made a cold
narrative page take seconds. Each asset is addressed as ``/assets/<stem>.<hash>.<ext>``, the hash
being of its content, so a browser may keep it for a year (``immutable``) and a new release
changes the name instead of waiting for caches to expire. Text assets are gzipped once, on first
request, and kept by the app (``TrackerState.assets``); nothing is cached at module level.

The narrative page loads plotly.js's official "basic" bundle (scatter, bar and pie, 1.2 MB) when the
install put it in ``web/static/vendor/``: the plotly wheel ships only the full 4.8 MB bundle, whose
start-up alone kept a cold narrative page over 1.5 s, so ``make install`` takes the basic one from the
npm registry (package ``plotly.js-basic-dist-min``, MIT) at the wheel's plotly.js version (a test keeps
the two in step). It is not kept in this repository. Without it (no npm at install) the page loads the
full bundle from the wheel, which is always served as ``plotly.min.js``. Nothing loads from a CDN.
"""

from __future__ import annotations

import hashlib
import importlib.util
import mimetypes
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tracker.web.bodies import Body, make_body

STATIC = Path(__file__).parent / "static"
VENDOR = STATIC / "vendor"  # filled by `make install`, not kept in git
PLOTLY_FULL = "plotly.min.js"  # from the plotly wheel
PLOTLY_BASIC = "plotly-basic.min.js"  # from the npm registry at install, when npm was there
FINGERPRINT = 10  # hex digits of the content hash in a name: collisions between two releases are moot
YEAR = 365 * 24 * 3600
_COMPRESSIBLE = ("text/", "image/svg+xml", "application/json")
#: plotly.js injects a <style> element of map CSS unless an element with this id exists (we draw no maps).
_PRINT = re.compile(f"[0-9a-f]{{{FINGERPRINT}}}")
_MAP_STYLE_ID = re.compile(rb'getElementById\("([0-9a-f]{64})"\)\)\{var \w+=document\.createElement\("style"\)')


def plotly_js_path() -> Path:
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the plotly package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "package_data" / PLOTLY_FULL


@dataclass
class Asset:
    """One file: its bytes, content hash and type, and (made on first request) the body sent for it."""

    name: str
    raw: bytes
    mimetype: str
    digest: str
    _body: Body | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def fingerprinted(self) -> str:
        stem, dot, ext = self.name.rpartition(".")
        return f"{stem}.{self.digest[:FINGERPRINT]}.{ext}" if dot else f"{self.name}.{self.digest[:FINGERPRINT]}"

    def body(self) -> Body:
        """What is sent: the bytes and, for text, their gzipped copy (level 9, made once: it is sent
        many times over), with the content hash as ETag."""
        with self._lock:
            if self._body is None:
                if self.mimetype.startswith(_COMPRESSIBLE):
                    self._body = make_body(self.raw, level=9)
                else:
                    self._body = Body(self.raw, None, self.digest)
            return self._body


class Assets:
    """The app's static files by logical name (``charts.js``) and by fingerprinted name, read on first use."""

    def __init__(self, folder: Path = STATIC) -> None:
        self.folder = folder
        self._by_name: dict[str, Asset] | None = None
        self._by_print: dict[str, Asset] = {}
        self._lock = threading.Lock()

    def _load(self) -> dict[str, Asset]:
        with self._lock:
            if self._by_name is None:
                files = {p.name: p for p in sorted(self.folder.iterdir()) if p.is_file()}
                vendor = self.folder / VENDOR.name
                if vendor.is_dir():
                    files.update({p.name: p for p in sorted(vendor.iterdir()) if p.is_file()})
                try:
                    files[PLOTLY_FULL] = plotly_js_path()
                except FileNotFoundError:
                    pass
                found = {name: _read(name, path) for name, path in files.items() if path.exists()}
                self._by_print = {a.fingerprinted: a for a in found.values()}
                self._by_name = found
            return self._by_name

    def url_path(self, name: str) -> str:
        """The fingerprinted file name of ``name`` (as it goes after ``/assets/``)."""
        asset = self._load().get(name)
        if asset is None:
            raise KeyError(f"no static asset called {name!r}")
        return asset.fingerprinted

    def find(self, requested: str) -> tuple[Asset, bool] | None:
        """The asset a request names, and whether it named the current content (a fingerprinted name);
        a plain or out-of-date name still finds the file, to be sent without the year-long cache."""
        by_name = self._load()
        if requested in self._by_print:
            return self._by_print[requested], True
        parts = requested.split(".")
        if len(parts) >= 3 and _PRINT.fullmatch(parts[-2]):
            requested = ".".join(parts[:-2] + parts[-1:])
        asset = by_name.get(requested)
        return (asset, False) if asset is not None else None

    @property
    def plotly(self) -> str:
        """The plotly.js bundle pages load: the basic one when installed, else the wheel's full one."""
        return PLOTLY_BASIC if PLOTLY_BASIC in self._load() else PLOTLY_FULL

    def plotly_map_style_id(self) -> str | None:
        """The id plotly.js looks for before injecting map CSS (None when this plotly.js has no such check)."""
        plotly = self._load().get(self.plotly)
        found = _MAP_STYLE_ID.search(plotly.raw) if plotly is not None else None
        return found.group(1).decode() if found else None


def _read(name: str, path: Path) -> Asset:
    raw = path.read_bytes()
    kind = "image/svg+xml" if name.endswith(".svg") else (mimetypes.guess_type(name)[0] or "application/octet-stream")
    if kind in ("application/javascript", "text/javascript"):
        kind = "text/javascript"
    return Asset(name, raw, kind, hashlib.blake2b(raw, digest_size=16).hexdigest())
