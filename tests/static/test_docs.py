"""docs/: the index lists every page and every link in it resolves; the
checked-in architecture.svg shows the graph of architecture.dot (compared by
what a reader sees — the nodes, edges and words — rather than bytes, which
differ between Graphviz versions); README.md points at the index."""
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def links(md):
    return re.findall(r"\]\(([^)#\s]+)", md.read_text())


def test_index_lists_every_page():
    listed = {(DOCS / l).resolve() for l in links(DOCS / "index.md")}
    for page in DOCS.glob("*.md"):
        if page.name != "index.md":
            assert page.resolve() in listed, f"docs/index.md does not list {page.name}"


def test_links_resolve():
    for md in [*DOCS.glob("*.md"), ROOT / "README.md"]:
        for l in links(md):
            if re.match(r"[a-z]+:", l):
                continue
            assert (md.parent / l).exists(), f"{md.relative_to(ROOT)}: broken link {l}"


def test_readme_points_at_the_index_and_images_page():
    readme = links(ROOT / "README.md")
    assert "docs/index.md" in readme and "docs/images.md" in readme


def picture(svg_text):
    """(titles of nodes and edges, words shown) of a Graphviz SVG."""
    ns = {"s": "http://www.w3.org/2000/svg"}
    root = ET.fromstring(svg_text)
    titles = sorted(t.text for t in root.iterfind(".//s:title", ns))
    words = sorted(w for t in root.iterfind(".//s:text", ns) for w in (t.text or "").split())
    return titles, words


def test_svg_is_rendered_from_the_dot():
    dot = shutil.which("dot")
    assert dot, "dot is missing: scripts/install-deps.sh installs graphviz"
    fresh = subprocess.run([dot, "-Tsvg", str(DOCS / "architecture.dot")], capture_output=True, text=True,
                           check=True).stdout
    checked_in = (DOCS / "architecture.svg").read_text()
    assert picture(checked_in) == picture(fresh), "docs/architecture.svg is stale: run make docs"


def test_picture_shows_the_system():
    svg = (DOCS / "architecture.svg").read_text()
    titles, _ = picture(svg)
    text = " ".join(t.text or "" for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text"))
    for thing in ("exo-install", "exo-controller", "exo-backend", "ExoControlPlane", "PostgreSQL 16",
                  "exo-casts", "GitOps", "exo CLI", "Kubernetes API server", "managed", "bundled"):
        assert thing in text, thing
    assert "installer->apiserver" in titles and "controller->backend" in titles and "cli->backend" in titles
