"""Interactive circuitsvis views that render offline.

circuitsvis's own ``RenderedHTML`` probes http://google.com on every display and, when
that answers, emits HTML that imports its JavaScript from unpkg. That fails wherever
unpkg is unreachable (offline, a firewall, a saved notebook reopened later) and costs a
network round trip per display. These views always embed circuitsvis's bundled
JavaScript (its ``local_src``) instead: about 1.3 MB per view in the saved notebook, a
fair price for a view that always draws. Deciding once whether we are online would
still break the saved notebook offline, and the probe asks google, not unpkg.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class OfflineView:
    """A rendered circuitsvis view: ``html`` is a self-contained fragment with the bundle
    inlined. Jupyter displays it through ``_repr_html_``; ``save`` writes a page."""

    html: str = field(repr=False)  # a 1.3 MB repr would be saved again as text/plain
    title: str = "circuitsvis view"

    def _repr_html_(self) -> str:
        return self.html

    def __html__(self) -> str:
        return self.html

    def save(self, path: str | Path) -> Path:
        """Write a standalone HTML page that opens in a browser without network access."""
        path = Path(path)
        # The bundle is UTF-8; without the meta tag a file: page is decoded as Latin-1.
        path.write_text(
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title></head>\n"
            f"<body>\n{self.html}\n</body></html>\n",
            encoding="utf-8",
        )
        return path


def attention_view(pattern, labels: list[str], layer: int | None = None) -> OfflineView:
    """An interactive ``circuitsvis.attention.attention_heads`` view of one layer.

    ``pattern`` is that layer's attention, ``[heads, query, key]`` (a tensor on any
    device, e.g. ``cache["pattern", 1][0]``); ``labels`` names the tokens, one per
    position. With ``layer`` given, heads are named ``L{layer}H{head}``.
    """
    from circuitsvis.attention import attention_heads

    if pattern.ndim != 3 or pattern.shape[1] != pattern.shape[2] or pattern.shape[1] != len(labels):
        raise ValueError(f"expected a [heads, {len(labels)}, {len(labels)}] pattern for "
                         f"{len(labels)} labels, got {tuple(pattern.shape)}")
    n_heads = pattern.shape[0]
    names = None if layer is None else [f"L{layer}H{head}" for head in range(n_heads)]
    rendered = attention_heads(pattern.detach().float().cpu(), list(labels),
                               attention_head_names=names)
    title = "Attention" if layer is None else f"Attention, layer {layer}"
    return OfflineView(rendered.local_src, title)
