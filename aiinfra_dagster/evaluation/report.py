"""The evaluation report a person reads: markdown for the UI, an HTML file with plots.

Both are rendered from one JSON-ready summary, so the numbers in the UI, the
HTML file and the eval_reports table are the same numbers.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from aiinfra_dagster.charts import figure_png, new_figure
from aiinfra_dagster.markdown import markdown_image, markdown_table

ROLE_ORDER = ("base", "champion", "candidate")


def _fmt(value: float, digits: int = 3) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def interval_text(i: Mapping[str, float], digits: int = 3) -> str:
    return f"{_fmt(i['mean'], digits)} [{_fmt(i['low'], digits)}, {_fmt(i['high'], digits)}]"


def roles(summary: Mapping[str, Any]) -> list[str]:
    present = summary["metrics"].keys()
    return [r for r in ROLE_ORDER if r in present]


def headline_rows(summary: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Metric x mode rows; a column per model and the candidate's improvement over the incumbent."""
    shown = roles(summary)
    headers = [
        "metric",
        "mode",
        *[f"{r} ({summary['versions'][r]})" for r in shown],
        f"improvement vs {summary['incumbent_role']}",
    ]
    rows = []
    for mode in summary["modes"]:
        for metric in summary["metric_names"]:
            cells = [interval_text(summary["metrics"][r][mode][metric]) for r in shown]
            delta = summary["deltas"].get(mode, {}).get(metric)
            star = " **(headline)**" if (metric, mode) == (summary["headline_metric"], summary["headline_mode"]) else ""
            rows.append([metric + star, mode, *cells, interval_text(delta) if delta else "n/a"])
    return headers, rows


def to_markdown(summary: Mapping[str, Any], chart_png: bytes | None = None) -> str:
    headers, rows = headline_rows(summary)
    gate, slices = summary["gate"], summary["slices_gate"]
    parts = [
        f"**Gate: {'PASSED' if gate['passed'] and slices['passed'] else 'BLOCKED'}** — {gate['reason']}; "
        f"slices {slices['reason']}",
        "",
        f"{summary['questions']} golden questions, mean [{int(summary['confidence'] * 100)}% bootstrap CI]; "
        "improvement > 0 means the candidate is better (perplexity: lower is better, the improvement is in NLL).",
        "",
        markdown_table(headers, rows),
    ]
    if chart_png:
        parts += ["", markdown_image(chart_png, "metrics with confidence intervals")]
    if summary.get("slices"):
        parts += ["", "**Slices** (headline metric, candidate - incumbent, worst first)", ""]
        parts.append(
            markdown_table(
                ["slice", "questions", "mean improvement", "gated"],
                [[s["slice"], s["questions"], f"{s['delta']:+.3f}", s["gated"]] for s in summary["slices"][:10]],
            )
        )
    if summary.get("worst"):
        parts += ["", f"**Worst candidate answers** ({summary['headline_metric']}, {summary['headline_mode']})", ""]
        parts.append(
            markdown_table(
                ["question", "reference", "answer", "score"],
                [
                    [_clip(w["question"], 80), _clip(w["reference"], 120), _clip(w["answer"], 120), _fmt(w["score"])]
                    for w in summary["worst"]
                ],
            )
        )
    classifier = summary.get("classifier")
    if classifier:
        parts += [
            "",
            f"**Topic classifier** on {classifier['rows']} held-out chunks: "
            f"accuracy {interval_text(classifier['accuracy'])}, "
            f"macro-F1 {_fmt(classifier['macro_f1'])}; the label model it learned from, on the same rows: accuracy "
            f"{_fmt(classifier['label_model_accuracy'])}, macro-F1 {_fmt(classifier['label_model_macro_f1'])}.",
        ]
        confusions = top_confusions(classifier["classes"], classifier["confusion"], 5)
        if confusions:
            parts += [
                "",
                markdown_table(["reference", "predicted as", "chunks"], confusions),
                "",
                "(the whole confusion matrix is in the HTML report)",
            ]
    return "\n".join(parts)


def top_confusions(classes: Sequence[str], confusion: Sequence[Sequence[int]], limit: int) -> list[list[object]]:
    """The largest off-diagonal cells of the confusion matrix, largest first."""
    cells = [
        (int(n), classes[i], classes[j]) for i, row in enumerate(confusion) for j, n in enumerate(row) if i != j and n
    ]
    return [[ref, pred, n] for n, ref, pred in sorted(cells, key=lambda c: (-c[0], c[1], c[2]))[:limit]]


def _clip(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def metrics_chart_png(summary: Mapping[str, Any]) -> bytes:
    """Bars per metric (one panel per mode) with CI whiskers, one bar per model."""
    modes, metrics, shown = (
        summary["modes"],
        [m for m in summary["metric_names"] if m != "reference_perplexity"],
        roles(summary),
    )
    fig = new_figure(3.2 * len(modes) + 1, 3)
    width = 0.8 / max(1, len(shown))
    for col, mode in enumerate(modes):
        ax = fig.add_subplot(1, len(modes), col + 1)
        for j, role in enumerate(shown):
            values = [summary["metrics"][role][mode][m] for m in metrics]
            means = np.array([v["mean"] for v in values])
            err = np.array([[v["mean"] - v["low"] for v in values], [v["high"] - v["mean"] for v in values]])
            ax.bar(np.arange(len(metrics)) + j * width, means, width, yerr=err, capsize=3, label=role)
        ax.set_xticks(
            np.arange(len(metrics)) + width * (len(shown) - 1) / 2, [m.replace("_", "\n") for m in metrics], fontsize=8
        )
        ax.set_title(mode, fontsize=9)
        ax.set_ylim(0, 1)
        ax.grid(axis="y", alpha=0.3)
        if col == 0:
            ax.legend(fontsize=7, loc="upper left")
    return figure_png(fig)


def confusion_png(classes: Sequence[str], confusion: Sequence[Sequence[int]]) -> bytes:
    matrix = np.asarray(confusion, dtype=np.float64)
    n = len(classes)
    fig = new_figure(max(4, 0.32 * n + 2), max(3.5, 0.32 * n + 1.5))
    ax = fig.add_subplot()
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(n), [c[:24] for c in classes], rotation=90, fontsize=6)
    ax.set_yticks(range(n), [c[:24] for c in classes], fontsize=6)
    ax.set_xlabel("predicted")
    ax.set_ylabel("reference")
    fig.colorbar(image, ax=ax, shrink=0.6)
    return figure_png(fig)


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(summary: Mapping[str, Any], chart_png: bytes, confusion: bytes | None) -> str:
    headers, rows = headline_rows(summary)
    gate, slices = summary["gate"], summary["slices_gate"]
    verdict = "PASSED" if gate["passed"] and slices["passed"] else "BLOCKED"
    sections = [
        f"<h1>Evaluation report {html.escape(summary['report_id'])}</h1>",
        f"<p class='{verdict.lower()}'><b>Gate: {verdict}</b> — {html.escape(gate['reason'])}"
        f"<br>Slices: {html.escape(slices['reason'])}</p>",
        f"<p>{summary['questions']} golden questions; mean [{int(summary['confidence'] * 100)}% bootstrap CI].</p>",
        _html_table(headers, [[c.replace("**", "") for c in r] for r in rows]),
        _img(chart_png, "metrics with confidence intervals"),
    ]
    if summary.get("slices"):
        sections += [
            "<h2>Slices</h2>",
            _html_table(
                ["slice", "questions", "mean improvement", "gated"],
                [[s["slice"], s["questions"], f"{s['delta']:+.3f}", s["gated"]] for s in summary["slices"]],
            ),
        ]
    if summary.get("worst"):
        sections += [
            "<h2>Worst candidate answers</h2>",
            _html_table(
                ["question", "reference", "answer", "score"],
                [[w["question"], w["reference"], w["answer"], _fmt(w["score"])] for w in summary["worst"]],
            ),
        ]
    classifier = summary.get("classifier")
    if classifier:
        sections += [
            "<h2>Topic classifier</h2>",
            f"<p>{classifier['rows']} held-out chunks: accuracy {interval_text(classifier['accuracy'])}, "
            f"macro-F1 {_fmt(classifier['macro_f1'])}; "
            f"label model on the same rows: accuracy {_fmt(classifier['label_model_accuracy'])}, "
            f"macro-F1 {_fmt(classifier['label_model_macro_f1'])}.</p>",
        ]
        if confusion:
            sections.append(_img(confusion, "confusion matrix"))
    sections += [
        "<h2>Inputs</h2>",
        _html_table(["input", "version"], sorted((k, str(v)) for k, v in summary["inputs"].items())),
    ]
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px;vertical-align:top}"
        ".passed{color:#176e2c}.blocked{color:#a11}"
    )
    title = f"eval report {html.escape(summary['report_id'])}"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{style}</style></head>"
        f"<body>{''.join(sections)}</body></html>"
    )
