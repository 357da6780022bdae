"""A page's structured data, read with extruct: JSON-LD, microdata, RDFa and OpenGraph (pure).

extruct (scrapinghub) does the parsing; this module only makes it robust to real shop pages and
hands the four syntaxes over in one shape:

- **JSON-LD**, one ``<script type="application/ld+json">`` block at a time, so that one broken
  block (a tracking snippet, a half-rendered template) does not drop the others. extruct reads
  plain JSON and, failing that, JSON with ``//`` and ``/* */`` comments and trailing commas
  (jstyleson), which also covers the ``/*<![CDATA[*/ … /*]]>*/`` wrapper of many templates.
  A block it still refuses is retried without bare ``<![CDATA[ … ]]>`` / ``<!-- … -->``
  wrappers and with HTML entities decoded (``&quot;`` quoting).
- **Microdata** in extruct's uniform shape: ``{"@type": "Product", "name": ..., "offers":
  {"@type": "Offer", ...}}``, URLs already absolute.
- **RDFa** arrives as expanded JSON-LD (full IRIs, blank-node references); :func:`rdfa_nodes`
  folds the schema.org part into the same shape (``https://schema.org/name`` → ``name``,
  references replaced by the nodes they point to, one value → scalar).
- **OpenGraph**: the ``og:*`` / ``product:*`` properties of ``<head>``, a list where a property
  repeats (``og:image``), ``og:type`` under ``@type``.

Microdata is only run when the page has an ``itemscope`` attribute, RDFa only when a ``typeof``
names a product: RDFa parsing is the slow part (~0.3 s for a 150 kB page), OpenGraph meta tags
are read by the OpenGraph step, and the one thing lost is an RDFa breadcrumb trail on a page
whose product is in another syntax.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass, field
from typing import Any

import extruct  # type: ignore[import-untyped]
import jstyleson  # type: ignore[import-untyped]
from extruct.jsonld import JsonLdExtractor  # type: ignore[import-untyped]
from extruct.utils import parse_xmldom_html  # type: ignore[import-untyped]

__all__ = ["Markup", "rdfa_nodes", "read_markup"]

SCHEMA_ORG = ("https://schema.org/", "http://schema.org/")
JSONLD_XPATH = '//script[@type="application/ld+json"]'
# RDFa parsing walks the whole page (~0.3 s for 150 kB): only when some typeof names a product
RDFA_PRODUCT_XPATH = (
    "boolean(//*[contains(translate(@typeof, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', "
    "'abcdefghijklmnopqrstuvwxyz'), 'product')])"
)
# how deep RDFa node references are followed (product → offer → price specification)
RDFA_DEPTH = 4
_WRAPPER = re.compile(r"^\s*(?:<!\[CDATA\[|<!--)|(?:\]\]>|-->)\s*$")


@dataclass(frozen=True)
class Markup:
    """The structured data of one page (empty when the page has none or does not parse).

    ``jsonld``: parsed JSON-LD values (dicts, in page order; a block holding a list gives its
    items); ``microdata`` and ``rdfa``: top-level items as schema.org-shaped dicts;
    ``opengraph``: property → value (``str``, or ``list[str]`` when repeated), ``og:type``
    as ``@type``.
    """

    jsonld: tuple[Any, ...] = ()
    microdata: tuple[dict[str, Any], ...] = ()
    rdfa: tuple[dict[str, Any], ...] = ()
    opengraph: dict[str, Any] = field(default_factory=dict)


def read_markup(html: str, url: str) -> Markup:
    """Every structured-data syntax of ``html`` fetched from ``url`` (relative URLs resolved)."""
    if not html.strip():  # lxml refuses an empty document
        return Markup()
    tree = parse_xmldom_html(html.encode("utf-8"), encoding="utf-8")
    jsonld = tuple(item for script in tree.xpath(JSONLD_XPATH) for item in _jsonld(script))
    microdata: list[dict[str, Any]] = []
    if tree.xpath("boolean(//*[@itemscope])"):
        microdata = _extract(tree, url, "microdata")
    rdfa: list[dict[str, Any]] = []
    if tree.xpath(RDFA_PRODUCT_XPATH):
        rdfa = rdfa_nodes(_extract(tree, url, "rdfa"))
    og = _extract(tree, url, "opengraph")
    return Markup(jsonld, tuple(microdata), tuple(rdfa), dict(og[0]) if og else {})


def _extract(tree: Any, url: str, syntax: str) -> list[dict[str, Any]]:
    try:
        out = extruct.extract(
            tree, base_url=url, syntaxes=[syntax], uniform=True, with_og_array=True
        )
    except Exception:  # noqa: BLE001 - third-party parsers on arbitrary markup: skip the syntax
        return []
    return [item for item in out.get(syntax, []) if isinstance(item, dict)]


def _jsonld(script: Any) -> list[Any]:
    """The JSON-LD values of one ``<script>`` element; ``[]`` when it cannot be read."""
    try:
        return list(JsonLdExtractor().extract_items(script))
    except ValueError:  # json / jstyleson decoding errors
        pass
    text = _WRAPPER.sub("", html_lib.unescape(script.xpath("string()")))
    try:
        data = jstyleson.loads(text, strict=False)
    except ValueError:
        return []
    items = data if isinstance(data, list) else [data]
    return [item for item in items if isinstance(item, dict) and item]


def _schema_name(iri: str) -> str | None:
    for base in SCHEMA_ORG:
        if iri.startswith(base):
            return iri[len(base) :]
    return None


def rdfa_nodes(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """schema.org nodes of extruct's expanded RDFa output, in the shape of JSON-LD nodes.

    Top-level nodes are those with a schema.org type that no other node refers to; a reference
    to another node becomes that node (up to :data:`RDFA_DEPTH` levels), a reference to
    anything else (an image resource) its IRI.
    """
    by_id = {item["@id"]: item for item in items if isinstance(item.get("@id"), str)}
    referenced = {
        value["@id"]
        for item in items
        for values in item.values()
        if isinstance(values, list)
        for value in values
        if isinstance(value, dict) and isinstance(value.get("@id"), str)
    }

    def convert(node: dict[str, Any], depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        types = [t for t in map(_schema_name, _strings(node.get("@type"))) if t]
        if types:
            out["@type"] = types[0] if len(types) == 1 else types
        for key, values in node.items():
            name = _schema_name(key)
            if name is None or not isinstance(values, list):
                continue
            got: list[Any] = []
            for value in values:
                if not isinstance(value, dict):
                    continue
                if "@value" in value:
                    got.append(value["@value"])
                elif isinstance(ref := value.get("@id"), str):
                    target = by_id.get(ref)
                    if target is not None and target is not node and depth < RDFA_DEPTH:
                        got.append(convert(target, depth + 1))
                    else:
                        got.append(ref)
            if got:
                out[name] = got[0] if len(got) == 1 else got
        return out

    return [
        convert(item, 0)
        for item in items
        if item.get("@id") not in referenced
        and any(_schema_name(t) for t in _strings(item.get("@type")))
    ]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []
