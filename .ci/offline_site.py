"""Check that a built documentation site loads nothing from another host: no script, stylesheet,
font, image or frame fetched from an absolute http(s) or protocol-relative URL, and MathJax served
from the site itself. Plain links to other sites (<a href>) are fine: they load nothing.

    python .ci/offline_site.py SITE_FOLDER
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

REMOTE = r"""(?:https?:)?//"""
# elements that fetch what their src names, and <link>s that fetch what their href names
FETCHING_SRC = re.compile(rf"""<(?:script|img|iframe|source|embed)\b[^>]*?\ssrc\s*=\s*["']{REMOTE}[^"']*""", re.I)
LINK = re.compile(r"<link\b[^>]*>", re.I)
FETCHING_REL = re.compile(r"""\srel\s*=\s*["'][^"']*\b(?:stylesheet|preload|modulepreload|prefetch|icon)\b""", re.I)
REMOTE_HREF = re.compile(rf"""\shref\s*=\s*["']{REMOTE}""", re.I)
CSS_IMPORT = re.compile(rf"""@import\s+(?:url\()?["']?{REMOTE}|url\(\s*["']?{REMOTE}""", re.I)


def remote_loads(html: str) -> list[str]:
    """The tags of ``html`` that fetch something from another host."""
    hits = [match.group(0) for match in FETCHING_SRC.finditer(html)]
    hits += [tag for tag in LINK.findall(html) if FETCHING_REL.search(tag) and REMOTE_HREF.search(tag)]
    return hits


def check(site: Path) -> list[str]:
    """Every remote load of every page and stylesheet of ``site``, as 'file: tag'."""
    problems = [f"{page}: {hit}" for page in site.rglob("*.html") for hit in remote_loads(page.read_text())]
    problems += [
        f"{sheet}: {m.group(0)}" for sheet in site.rglob("*.css") for m in CSS_IMPORT.finditer(sheet.read_text())
    ]
    if not (site / "_static" / "mathjax" / "tex-chtml.js").exists():
        problems.append(f"{site}: MathJax is not served from the site (_static/mathjax/tex-chtml.js missing)")
    return problems


if __name__ == "__main__":
    found = check(Path(sys.argv[1]))
    if found:
        sys.exit("the site loads from another host:\n" + "\n".join(found[:20]))
    print(f"{sys.argv[1]}: no page loads a script, stylesheet, font or image from another host; MathJax is local")
