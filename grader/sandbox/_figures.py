"""A matplotlib figure as plain data, and back: what tests inspect survives the trip.

Kept: each axes' position, title, labels, ticks and tick labels, limits, images
(array, colour map, value range, extent), lines (data, label) and texts.
"""
from __future__ import annotations

import torch


def _tensor(values) -> torch.Tensor:
    import numpy
    array = numpy.ma.getdata(numpy.asarray(values))
    return torch.from_numpy(numpy.array(array, dtype=numpy.float64))


def _labels(labels) -> list[str]:
    return [label.get_text() for label in labels]


def _axes(ax) -> dict:
    return {
        "position": list(ax.get_position().bounds),
        "title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
        "xlim": list(ax.get_xlim()), "ylim": list(ax.get_ylim()),
        "xticks": _tensor(ax.get_xticks()), "yticks": _tensor(ax.get_yticks()),
        "xticklabels": _labels(ax.get_xticklabels()), "yticklabels": _labels(ax.get_yticklabels()),
        "images": [{"array": _tensor(im.get_array()), "cmap": im.get_cmap().name,
                    "clim": list(im.get_clim()), "extent": list(im.get_extent())} for im in ax.images],
        "lines": [{"x": _tensor(line.get_xdata()), "y": _tensor(line.get_ydata()),
                   "label": str(line.get_label())} for line in ax.lines],
        "texts": [(float(t.get_position()[0]), float(t.get_position()[1]), t.get_text()) for t in ax.texts],
    }


def summarise(figure) -> dict:
    # No canvas.draw(): it costs as much as making the figure, and matplotlib (3.6+)
    # formats tick labels when they are asked for.
    suptitle = figure._suptitle.get_text() if figure._suptitle is not None else ""
    return {"size": list(figure.get_size_inches()), "suptitle": suptitle,
            "axes": [_axes(ax) for ax in figure.axes]}


def rebuild(summary: dict):
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=summary["size"])
    if summary["suptitle"]:
        figure.suptitle(summary["suptitle"])
    for spec in summary["axes"]:
        ax = figure.add_axes(spec["position"])
        for image in spec["images"]:
            vmin, vmax = image["clim"]
            ax.imshow(image["array"].numpy(), cmap=image["cmap"], vmin=vmin, vmax=vmax,
                      extent=image["extent"], aspect="auto")
        for line in spec["lines"]:
            ax.plot(line["x"].numpy(), line["y"].numpy(), label=line["label"])
        for x, y, text in spec["texts"]:
            ax.text(x, y, text)
        ax.set(title=spec["title"], xlabel=spec["xlabel"], ylabel=spec["ylabel"],
               xlim=spec["xlim"], ylim=spec["ylim"])
        for axis in "xy":
            ticks, labels = spec[f"{axis}ticks"].numpy(), spec[f"{axis}ticklabels"]
            getattr(ax, f"set_{axis}ticks")(ticks, labels if len(labels) == len(ticks) else None)
    return figure
