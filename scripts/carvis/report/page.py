"""The report pages' frame and cell formatting: one self-contained HTML document (inline CSS), escaped
cells where a missing value reads in words, key/value tables and tiles; shared by the sample, cohort and
LM-PCR reports."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from carvis import __version__
from carvis.report.summary import Row, as_float, known

CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;margin:1.5em auto;
max-width:1180px;color:#1d1f23;line-height:1.45;padding:0 1.2em;font-size:15px}
h1{font-size:1.55em;margin:0 0 .15em 0}
h2{font-size:1.12em;margin:1.6em 0 .5em 0;padding-bottom:.2em;border-bottom:2px solid #e3e6ea}
.sub{color:#555;margin:0 0 1em 0}
.verdict{border-radius:8px;padding:1em 1.3em;margin:1em 0;border-left:10px solid}
.verdict .title{font-size:1.45em;font-weight:700;margin:0 0 .6em 0}
.v-car_derived{background:#fdecea;border-color:#b71c1c}.v-car_derived .title{color:#8e1515}
.v-car_t_present{background:#fff4e0;border-color:#e08a00}.v-car_t_present .title{color:#8a5200}
.v-not_detected{background:#e8f1fb;border-color:#1f5fa8}.v-not_detected .title{color:#174a85}
.v-indeterminate{background:#efefef;border-color:#666}.v-indeterminate .title{color:#333}
.tiles{display:flex;flex-wrap:wrap;gap:.7em}
.tile{background:#fff;border-radius:6px;padding:.5em .8em;min-width:12em;flex:1;border:1px solid #0001}
.tile .k{font-size:.78em;color:#555;text-transform:uppercase;letter-spacing:.03em}
.tile .v{font-size:1.25em;font-weight:700}
.tile .d{font-size:.85em;color:#444}
.grid2{display:grid;grid-template-columns:3fr 2fr;gap:1.5em}
.grid2>div>h2{margin-top:.6em}
.rule{font-size:.88em;color:#333;background:#f6f7f9;border:1px solid #e3e6ea;border-radius:4px;
padding:.45em .6em;font-family:ui-monospace,Menlo,Consolas,monospace}
ul.limits{padding-left:1.2em;margin:.3em 0;font-size:.92em}ul.limits li{margin-bottom:.35em}
table{border-collapse:collapse;font-size:.88em;margin:.5em 0;width:100%}
th,td{border-bottom:1px solid #e3e6ea;padding:.35em .5em;text-align:left;vertical-align:top}
thead th{background:#f3f4f6;border-bottom:2px solid #c5cad1;font-size:.92em}
table.kv th{width:17em;background:#f8f9fa;font-weight:600}
tr.clonal td{background:#fdf1f0}
tr.clonal td:first-child{border-left:4px solid #b71c1c}
.num{text-align:right;font-variant-numeric:tabular-nums}
td.frag{min-width:12em}td.frag .small{text-align:left}.hash{font-family:ui-monospace,Menlo,Consolas,monospace;
font-size:.85em;word-break:break-all}h3{font-size:1em;margin:1.2em 0 .3em 0}
.nowrap{white-space:nowrap}
table.sites{font-size:.84em}
table.sites td:nth-child(7){min-width:11em}table.sites td:nth-child(8){min-width:10em}
.small{font-size:.85em;color:#555}
.note{color:#555;font-size:.88em}
.legend span{display:inline-block;margin-right:1.2em}
.dot{display:inline-block;width:.8em;height:.8em;border-radius:50%;margin-right:.3em;vertical-align:-.05em}
.figure{overflow-x:auto}
svg text{font-family:inherit;font-size:12px;fill:#1d1f23}
svg text.axis{font-size:11px;fill:#666}svg text.chrom{font-weight:600}svg text.mark{font-weight:700}
.tier-inside{color:#b71c1c;font-weight:700}.tier-10kb{color:#c2410c;font-weight:700}
.tier-50kb{color:#a16207;font-weight:600}
footer{margin-top:2em;color:#666;font-size:.82em;border-top:1px solid #e3e6ea;padding-top:.6em}
@media print{body{max-width:none}
.verdict,tr.clonal td{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
@media (max-width:800px){.grid2{grid-template-columns:1fr}}
"""

#: Site flags in words.
FLAG_WORDS = {
    "one_sided": "one junction seen",
    "multi_hit": "host side maps equally well to several places",
    "spanning_modelled": "reference fragments modelled",
    "low_mapq": "low host mapping quality",
    "orientation_unknown": "orientation unknown",
    "lmpcr": "LM-PCR site (abundance, not a cell fraction)",
    "capture_relative_abundance": "clonal fraction is the relative abundance (flanks not baited)",
}


def esc(value: object, missing: str = "unknown") -> str:
    """HTML-escape a cell; a missing value (None, empty, NA) reads ``missing``."""
    return html.escape(text(value, missing), quote=True)


def text(value: object, missing: str = "unknown") -> str:
    """A raw cell as text; a missing value reads ``missing`` (escape later)."""
    return str(value) if known(value) else missing


def count(value: object, missing: str = "unknown") -> str:
    """A count as a whole number with thousands separators (modelled counts are rounded)."""
    number = as_float(value)
    return missing if number is None else f"{round(number):,}"


def flags_text(site: Row) -> list[str]:
    """The site's flags in words."""
    flags = [f for f in str(site.get("flags") or "").split(",") if known(f)]
    return [FLAG_WORDS.get(f, f.replace("_", " ")) for f in flags]


def has_flag(site: Row, flag: str) -> bool:
    return flag in str(site.get("flags") or "").split(",")


def kv_table(pairs: Sequence[tuple[str, object]]) -> str:
    """A two-column key/value table; nested mappings and lists render as nested tables and lists."""
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{_render_value(v)}</td></tr>" for k, v in pairs)
    return f'<table class="kv">{rows}</table>'


def page(title: str, body: str) -> str:
    """A complete self-contained HTML document."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>{body}"
        f"<footer>carvis {esc(__version__)}. This page only formats the pipeline's tables "
        "(integration_sites.tsv, transgene.tsv, summary.tsv); every figure can be traced to a row there. "
        "It loads nothing from the network.</footer></body></html>\n"
    )


def _render_value(value: object) -> str:
    if isinstance(value, Mapping):
        return kv_table(list(value.items())) if value else "none"
    if isinstance(value, list | tuple):
        return "<ul>" + "".join(f"<li>{_render_value(v)}</li>" for v in value) + "</ul>" if value else "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return esc(value)


def tile(key: str, value: object, detail: str = "") -> str:
    extra = f'<div class="d">{esc(detail)}</div>' if detail else ""
    return f'<div class="tile"><div class="k">{esc(key)}</div><div class="v">{esc(value)}</div>{extra}</div>'
