"""Cold narrative page: time to interactive in headless Chromium (issue 16 acceptance: < 1.5 s).

Builds (once, cached under bench/results/) the demo database as `make demo` does, starts `tracker serve`
(waitress) on a free loopback port, warms the server (page caches, timeline, gzipped assets), then in
each round opens the bio-labs narrative page in three ways, side by side:

  cold         a new browser context (empty cache), gzip accepted: what a first visitor gets
  uncompressed a new context that refuses compression (Accept-Encoding: identity)
  before       a new context, uncompressed, loading the plotly wheel's full 4.8 MB bundle instead of the
               basic one (the request is rerouted): the page as it was before this issue
  revisit      the cold context opening the page again: assets from the browser's cache (fingerprinted
               names, cached for a year), so only the page and its chart data travel

"Interactive" is navigation start to the charts drawn (charts.js marks <html> with ``charts-ready``
after plotly drew both charts and wired their clicks). Prints per-round figures, medians, the bytes sent
and the ratios, and exits non-zero when the median cold page is not interactive within the target.

    .venv/bin/python bench/cold_page.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "cold_page"
TARGET_S = 1.5
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def env() -> dict[str, str]:
    return {**os.environ, "TRACKER_CONFIG": str(ROOT / "tracker" / "sample" / "demo.toml"),
            "TRACKER_DATA_DIR": str(RESULTS), "HF_HUB_OFFLINE": "1"}


def build() -> None:
    """The demo database, as `make demo` builds it (cached: delete bench/results/cold_page to rebuild)."""
    if (RESULTS / "tracker.db").exists():
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    tracker = str(Path(sys.executable).with_name("tracker"))
    aliases = ROOT / "tracker" / "sample" / "aliases.toml"
    tomllib.loads(aliases.read_text(encoding="utf-8"))  # fail early on a broken rules file
    for args in (["init"], ["import", "--sample"], ["actors", "load-rules", str(aliases)], ["run"]):
        subprocess.run([tracker, *args], env=env(), check=True, stdout=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def biolabs(base: str) -> str:
    """The narrative page whose first mover is Medvedev (the sample corpus's bio-labs story)."""
    import json

    with urllib.request.urlopen(f"{base}/api/narratives?limit=50") as r:
        items = json.load(r)["items"]
    for n in items:
        with urllib.request.urlopen(f"{base}/api/narratives/{n['id']}/timeline?edges=0") as r:
            doc = json.load(r)
        if doc["first_mover"] and doc["first_mover"]["actor"] == "Dmitry Medvedev":
            return f"{base}/narratives/{n['id']}"
    raise SystemExit("no bio-labs narrative in the demo data")


def visit(page: object, url: str) -> tuple[float, int]:
    """Seconds from navigation start to the charts drawn, and the bytes that came over the wire."""
    started = time.perf_counter()
    page.goto(url, wait_until="commit")  # type: ignore[attr-defined]
    page.wait_for_selector("html.charts-ready", state="attached", timeout=60_000)  # type: ignore[attr-defined]
    seconds = time.perf_counter() - started
    sent = page.evaluate(  # type: ignore[attr-defined]
        "() => performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".reduce((n, e) => n + (e.transferSize || 0), 0)")
    return seconds, int(sent)


def measure(url: str, rounds: int) -> dict[str, list[tuple[float, int]]]:
    from playwright.sync_api import sync_playwright

    found: dict[str, list[tuple[float, int]]] = {"cold": [], "uncompressed": [], "before": [], "revisit": []}
    full = url.split("/narratives/")[0] + "/assets/plotly.min.js"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=LAUNCH_ARGS)
        for i in range(rounds):
            variants = ("cold", "uncompressed", "before")
            for variant in variants[i % 3:] + variants[: i % 3]:  # each goes first in turn
                headers = {"Accept-Encoding": "identity"} if variant != "cold" else {}
                context = browser.new_context(viewport={"width": 1280, "height": 900}, extra_http_headers=headers)
                if variant == "before":
                    context.route("**/assets/plotly-basic.min.*.js", lambda route: route.continue_(url=full))
                page = context.new_page()
                found[variant].append(visit(page, url))
                if variant == "cold":
                    again = context.new_page()
                    found["revisit"].append(visit(again, url))
                context.close()
            print(f"  round {i + 1}: " + ", ".join(f"{k} {v[-1][0]:.2f} s" for k, v in found.items()), flush=True)
        browser.close()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    if shutil.which("chromium") is None:
        print("chromium is not installed (apt-get install chromium): nothing measured")
        return 2
    build()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(Path(sys.executable).with_name("tracker")), "serve", "--port", str(port)],
                              env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/login", timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        url = biolabs(base)
        measure(url, 1)  # warm the server: its caches and the gzipped assets
        found = measure(url, args.rounds)
    finally:
        server.terminate()
        server.wait(10)
    median = {k: statistics.median(s for s, _ in v) for k, v in found.items()}
    sent = {k: statistics.median(b for _, b in v) for k, v in found.items()}
    print("\n  variant        median to interactive   bytes over the wire")
    for k in found:
        print(f"  {k:<14} {median[k]:>8.2f} s {'':>12} {sent[k] / 1e6:>8.2f} MB")
    for other in ("before", "uncompressed"):
        print(f"\n  {other} / cold: {median[other] / median['cold']:.2f}x the time, "
              f"{sent[other] / max(sent['cold'], 1):.1f}x the bytes", end="")
    print()
    print(f"  cold / revisit: {median['cold'] / median['revisit']:.2f}x")
    verdict = median["cold"] < TARGET_S
    print(f"\n  cold narrative page interactive: median {median['cold']:.2f} s (target < {TARGET_S} s): "
          f"{'PASS' if verdict else 'FAIL'}")
    return 0 if verdict else 1


if __name__ == "__main__":
    raise SystemExit(main())
