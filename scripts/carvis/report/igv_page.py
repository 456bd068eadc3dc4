"""The report's "Reads at each site" section: igv.js and every view's data inside the page, nothing fetched.

:func:`write_site_views` writes an HTML fragment (``views/<sample>.site_views.html``) that
:func:`carvis.report.html.render_sample_report` places in the report as it is: igv.js (the pinned npm
package, ``resources/igvjs``) inline, the views' data (:func:`carvis.report.igv.site_view`) as JSON, and a
loader that draws each view when the page opens. Each view shows the host locus and the provirus end(s)
side by side with the evidence reads coloured by kind (``YC``), the genes, and the TSD as a region of
interest. Sites beyond ``max_views`` (:func:`carvis.report.igv.select_sites`) are listed with their locus
in the evidence BAM.

When a view has been drawn its element gets ``data-igv="ready"``, ``data-drawn`` (the coloured pixels of
its read track), ``data-junction`` (of those, the split and clipped reads' red and orange),
``data-canvases`` (igv.js's canvases, in its shadow DOM too) and ``data-top`` (its offset in the page);
on failure ``data-igv="error"`` and the message is shown under it. The page's body gets
``data-igv-views="done"`` when every view has been tried.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pysam

from carvis.core.io import atomic_write, read_tsv
from carvis.reference.genes import load_annotation
from carvis.report.evidence_bam import COLOURS
from carvis.report.igv import select_sites, site_name, site_view

#: Views made at most; past this only clonal and listed-gene sites get one (about 15 kB each).
MAX_VIEWS = 30

#: Evidence kinds (``ZK``; ``rejected``: reads with ``ZQ``) in the key, coloured as their ``YC`` tag.
_KINDS = tuple(
    (kind, text, f"rgb({COLOURS[kind]})")
    for kind, text in (
        ("split", "split reads"),
        ("clip", "soft-clipped reads"),
        ("host_clip", "host-clipped reads"),
        ("mate_clip", "host-clipped reads placed by their mate"),
        ("aligned_clip", "host-clipped reads placed by bwa aln"),
        ("discordant", "discordant pairs"),
        ("mate", "their mates"),
        ("rejected", "not used by QC"),
    )
)

_LOADER = """
(function () {
  const views = JSON.parse(document.getElementById("carvis-igv-data").textContent);
  function drawn(browser) {
    let n = 0, junction = 0;
    for (const tv of browser.trackViews) {
      if (tv.track.type !== "alignment") continue;
      for (const vp of tv.viewports) {
        const c = vp.canvas;
        if (!c || !c.width || !c.height) continue;
        const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < px.length; i += 4) {
          if (px[i + 3] === 0 || px[i] + px[i + 1] + px[i + 2] >= 720) continue;
          n++;
          if (px[i] > 180 && px[i + 1] < 140 && px[i + 2] < 60) junction++;  // split (red), clip (orange)
        }
      }
    }
    return [n, junction];
  }
  function canvases(node) {
    let n = node.tagName === "CANVAS" ? 1 : 0;
    for (const child of node.children) n += canvases(child);
    if (node.shadowRoot) for (const child of node.shadowRoot.children) n += canvases(child);
    return n;
  }
  async function show(view) {
    const div = document.getElementById(view.id).querySelector(".igv-view");
    try {
      const browser = await igv.createBrowser(div, {
        reference: {id: view.id, name: view.site, fastaURL: view.fasta, indexed: false},
        locus: view.loci,
        loadDefaultGenomes: false,
        showChromosomeWidget: false,
        showCenterGuideButton: false,
        showTrackLabels: true,
        roi: [{name: view.target.name, features: [view.target], color: "rgba(214,39,40,0.25)"}],
        tracks: [
          {type: "annotation", name: "target site", displayMode: "EXPANDED", color: "#d62728",
           features: [view.target], height: 40, order: 1},
          {type: "annotation", name: "genes", displayMode: "EXPANDED", color: "#1f3f7f",
           features: view.genes, height: 50, order: 2},
          {type: "alignment", format: "bam", name: "evidence reads", url: view.bam, indexed: false,
           colorBy: "tag", colorByTag: "YC", showSoftClips: true, displayMode: "SQUISHED",
           height: 260, order: 3}
        ]
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const [pixels, junction] = drawn(browser);
      div.dataset.drawn = String(pixels);
      div.dataset.junction = String(junction);
      div.dataset.canvases = String(canvases(div));
      div.dataset.top = String(Math.round(div.getBoundingClientRect().top + window.scrollY));
      div.dataset.igv = "ready";
    } catch (error) {
      div.dataset.igv = "error";
      div.insertAdjacentHTML("afterend", "<p class='note'></p>");
      div.nextSibling.textContent = "This view could not be drawn: " + error;
    }
  }
  window.addEventListener("load", async function () {
    for (const view of views) await show(view);
    document.body.dataset.igvViews = "done";
  });
})();
"""

_CSS = (
    "<style>.igv-view{min-height:120px;border:1px solid #ddd;margin:4px 0}"
    ".key span{display:inline-block;width:10px;height:10px;margin:0 3px 0 10px}</style>"
)


@dataclass(frozen=True)
class ViewSources:
    """The files a sample's views are made from."""

    evidence_bam: str | Path  # indexed, from carvis.report.evidence_bam
    fasta: str | Path  # the combined reference (indexed)
    annotation: str | Path | None  # the GTF or its cache (carvis.reference.genes.load_annotation)
    igv_js: str | Path | None  # igv.min.js; None or missing: no views, said in words


def _json(data: object) -> str:
    return json.dumps(data, separators=(",", ":")).replace("</", "<\\/")


def _key() -> str:
    spans = "".join(f'<span style="background:{c}"></span>{html.escape(t)}' for _, t, c in _KINDS)
    return f'<p class="note key">Reads:{spans}.</p>'


def _caption(view: Mapping[str, object]) -> str:
    counts = view["counts"]
    assert isinstance(counts, dict)
    parts = [f"{k.replace('_', '-')} {counts[k]}" for k, _, _ in _KINDS if counts.get(k)]
    loci = ", ".join(str(x) for x in view["loci"])  # type: ignore[attr-defined]
    shown = "; ".join(parts) or "none"
    return f'<p class="note">{html.escape(loci)}. Alignments shown (ZK): {html.escape(shown)}.</p>'


def _others(sites: Sequence[Mapping[str, str]], bam_name: str) -> str:
    if not sites:
        return ""
    names = ", ".join(html.escape(site_name(s)) for s in sites)
    return (
        f"<p>{len(sites)} other site(s) have no view here (the report shows the clonal and listed-gene "
        f'sites when there are many): {names}. Their reads are in <a href="{html.escape(bam_name)}">'
        f"{html.escape(bam_name)}</a> (tag ZS = site), or open igv_session.xml in IGV.</p>"
    )


def section(views: Sequence[Mapping[str, object]], others: str, igv_js: str | None) -> str:
    """The report section: one block per view, the rest listed, igv.js and the loader."""
    intro = (
        "<section id='site-views'><h2>Reads at each site</h2><p class='note'>For each site: the host "
        "locus (500 bp each side of the target site, the TSD shaded) with the evidence reads there (split, "
        "clipped and discordant, from the evidence BAM), and the provirus end(s) joined to it with the "
        "reads of this site. Soft-clipped "
        "bases are drawn as mismatches: in the host panel they are the vector part of a junction read. "
        "Drag to move, click a read for its tags (ZS site, ZK kind, ZQ why QC did not use it).</p>"
    )
    if igv_js is None:
        return (
            intro + "<p>The interactive views are not in this report: igv.js was not installed "
            "(bash scripts/setup.sh installs it). The reads are in the evidence BAM.</p>"
            + others
            + "</section>"
        )
    blocks = "".join(
        f'<div class="site-view" id="{view["id"]}"><h3>{html.escape(str(view["title"]))}</h3>'
        f'<div class="igv-view"></div>{_caption(view)}</div>'
        for view in views
    )
    return (
        intro + _key() + _CSS + blocks + others
        + f"<script>{igv_js}</script>"
        + f'<script type="application/json" id="carvis-igv-data">{_json(list(views))}</script>'
        + f"<script>{_LOADER}</script></section>"
    )  # fmt: skip


def write_site_views(
    sites_tsv: str | Path, sources: ViewSources, out_html: str | Path, max_views: int = MAX_VIEWS
) -> int:
    """Write the sample's views section (an HTML fragment); return the number of views."""
    sites = read_tsv(sites_tsv)
    chosen = select_sites(sites, max_views)
    igv_js = None
    if sources.igv_js is not None and Path(sources.igv_js).is_file():
        igv_js = Path(sources.igv_js).read_text(encoding="utf-8")
    views = []
    if igv_js is not None and chosen:
        annotation = load_annotation(sources.annotation) if sources.annotation else None
        with (
            pysam.AlignmentFile(str(sources.evidence_bam)) as bam,
            pysam.FastaFile(str(sources.fasta)) as fasta,
        ):
            views = [site_view(site, bam, fasta, annotation) for site in chosen]
    shown = {id(s) for s in chosen} if igv_js is not None else set()
    others = _others([s for s in sites if id(s) not in shown], Path(sources.evidence_bam).name)
    with atomic_write(out_html) as out:
        out.write(section(views, others, igv_js))
    return len(views)
