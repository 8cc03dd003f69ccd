"""The circuitsvis attention view draws its heatmaps offline, in a real browser.

The browser test needs Debian's ``chromium`` (driven by PyPI ``playwright`` without
``playwright install``); every request that is not for a ``file:`` URL is blocked.
"""
from pathlib import Path

import pytest
import torch
from IPython.core.formatters import DisplayFormatter

from induction_circuits.data import periodic_tokens, token_labels
from induction_circuits.views import attention_view

CHROMIUM = Path("/usr/bin/chromium")
BUNDLE = Path(__import__("circuitsvis").__file__).parent / "dist" / "cdn" / "iife.js"

# Per canvas: its size, and the opaque saturated ("coloured") pixels and their distinct
# colours. The attention cells are coloured; axis text and the masked triangle are grey.
CANVAS_STATS = """() => [...document.querySelectorAll('canvas')].map(c => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const colours = new Set();
  let coloured = 0;
  for (let i = 0; i < d.length; i += 4) {
    const hi = Math.max(d[i], d[i + 1], d[i + 2]), lo = Math.min(d[i], d[i + 1], d[i + 2]);
    if (d[i + 3] > 0 && hi - lo > 30) { coloured++; colours.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]); }
  }
  return {pixels: c.width * c.height, coloured: coloured, colours: colours.size};
})"""


def random_pattern(n_heads=4, n=6):
    scores = torch.randn(n_heads, n, n).masked_fill(torch.ones(n, n).triu(1).bool(), -torch.inf)
    return scores.softmax(-1)


def test_view_inlines_the_bundle_and_never_probes_the_network(monkeypatch):
    import circuitsvis.utils.render

    def no_network(*args, **kwargs):
        raise AssertionError("the view must not probe the network")

    monkeypatch.setattr(circuitsvis.utils.render, "internet_on", no_network)
    monkeypatch.setattr("urllib.request.urlopen", no_network)
    labels = ["ba", "be", "bi", "ba", "be", "bi"]
    view = attention_view(random_pattern(), labels, layer=1)
    data, _ = DisplayFormatter().format(view)  # what Jupyter does to display it
    html = data["text/html"]
    assert html == view.html
    assert len(data["text/plain"]) < 100  # the bundle is saved once, not again as text
    assert "unpkg" not in html
    assert BUNDLE.read_text(encoding="utf-8")[:2000] in html
    assert '"L1H3"' in html and '"bi"' in html


def test_view_rejects_a_pattern_that_does_not_fit_the_labels():
    with pytest.raises(ValueError, match=r"\[heads, 5, 5\]"):
        attention_view(random_pattern(n=6), ["a"] * 5)
    with pytest.raises(ValueError):
        attention_view(random_pattern()[0], ["a"] * 6)  # one head without its head axis


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: install it with "
                    "`apt-get update && apt-get install -y chromium` (as root; .ci/run does this).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield browser
        browser.close()


def draw_offline(browser, page_file: Path, timeout_ms: float = 10_000):
    """Open ``page_file`` with the network blocked; return its canvases' stats (empty when
    nothing drew within the timeout) and the URLs it tried to fetch."""
    from playwright.sync_api import TimeoutError

    page = browser.new_page()
    blocked = []

    def block(route):
        blocked.append(route.request.url)
        route.abort()

    page.route(lambda url: not url.startswith("file:"), block)
    page.goto(page_file.resolve().as_uri())
    try:
        page.wait_for_function(
            f"() => {{ const s = ({CANVAS_STATS})(); return s.length > 0 && s.every(c => c.coloured > 0); }}",
            timeout=timeout_ms)
    except TimeoutError:
        pass
    stats = page.evaluate(CANVAS_STATS)
    page.close()
    return stats, blocked


@pytest.fixture(scope="module")
def layer1():
    from induction_circuits.model import load_trained_model
    from induction_circuits.scores import attention_patterns

    model = load_trained_model("cpu", prefer_own=False)
    tokens = periodic_tokens(1, 8, seq_len=16, generator=torch.Generator().manual_seed(0))
    return attention_patterns(model, tokens)[1, 0], token_labels(tokens[0])


def test_view_draws_every_head_in_chromium_without_the_network(browser, layer1, tmp_path):
    pattern, labels = layer1
    stats, blocked = draw_offline(browser, attention_view(pattern, labels, layer=1).save(tmp_path / "view.html"))
    assert blocked == []
    # One thumbnail per head plus the zoomed head, each with a heatmap of many shades.
    assert len(stats) == pattern.shape[0] + 1, stats
    for canvas in stats:
        assert canvas["coloured"] >= 0.01 * canvas["pixels"] and canvas["colours"] >= 10, stats


def test_the_unpkg_variant_draws_nothing_offline(browser, layer1, tmp_path):
    """The same check fails for circuitsvis's default HTML: the test can tell them apart."""
    from circuitsvis.attention import attention_heads

    from induction_circuits.views import OfflineView

    pattern, labels = layer1
    cdn = OfflineView(attention_heads(pattern, labels).cdn_src).save(tmp_path / "cdn.html")
    stats, blocked = draw_offline(browser, cdn, timeout_ms=5_000)
    assert stats == []
    assert any(url.startswith("https://unpkg.com/circuitsvis@") for url in blocked), blocked
