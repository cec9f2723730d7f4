#!/usr/bin/env python3
"""The lint step's check that the repository's own text points only at what the repository
holds: a Markdown file named anywhere, or a path with a '/' named in a comment, a docstring
or a document, must be a file (or folder) of the tree — not the team's notes beside it
(the API and design notes), which a clone does not have, and not a file since renamed.
Generated files count by their template (common/version.h from version.h.in). Names that
are external on purpose are listed in EXTERNAL. Prints each miss as FILE:LINE: REF and
exits 1 if there is any."""
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXT = r"(?:md|h|cc|py|sh|js|mjs|yaml|yml|json|css|html|cmake|txt|in|dict)"
REF = re.compile(r"(?<![\w./%-])((?:\.\.?/)?\w[\w.+-]*(?:/[\w.+-]+)*\." + EXT + r")(?![\w/-])")
# Gcore's published specs: compared against where a copy is present, never shipped.
EXTERNAL = {"keypairs-v1.yaml", "ssh-keys.yaml"}
CODE_COMMENT = {".cc": "//", ".h": "//", ".js": "//", ".in": "//", ".py": "#", ".sh": "#",
                ".cmake": "#", ".txt": "#", ".yaml": "#", ".yml": "#", "": "#"}


def tree():
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [f for f in out if (ROOT / f).is_file()]


def prose(path, text):
    """The lines of `text` (numbered) that are comments, docstrings or documentation."""
    suffix = pathlib.PurePosixPath(path).suffix
    if suffix in (".md", ".html", ".css"):
        yield from enumerate(text.splitlines(), 1)
        return
    marker = CODE_COMMENT.get(suffix)
    if marker is None:
        return
    in_doc = False
    for n, line in enumerate(text.splitlines(), 1):
        quotes = line.count('"""') if suffix == ".py" else 0
        if in_doc or quotes:
            yield n, line
            in_doc = in_doc != (quotes % 2 == 1)
            continue
        if line.lstrip().startswith("#include"):
            continue
        at = line.find(marker)
        if at >= 0:
            yield n, line[at:]


def main():
    files = tree()
    present = set(files)
    present |= {f[:-3] for f in files if f.endswith(".in")}
    names = {pathlib.PurePosixPath(f).name for f in present}
    folders = {p.as_posix() for f in present for p in pathlib.PurePosixPath(f).parents}
    misses = []
    for f in files:
        if f.startswith("fuzz/corpus/"):
            continue
        try:
            text = (ROOT / f).read_text()
        except (UnicodeDecodeError, OSError):
            continue
        for n, line in prose(f, text):
            for m in REF.finditer(line):
                ref = m.group(1)
                if not (ref.endswith(".md") or "/" in ref) or ref in EXTERNAL:
                    continue  # a bare name is too often an identifier (r.json) to judge
                if "://" in line[max(0, m.start() - 40):m.start()]:
                    continue  # part of a URL
                path = pathlib.PurePosixPath(ref)
                beside = os.path.normpath((pathlib.PurePosixPath(f).parent / path).as_posix())
                suffixes = {p for p in present if p.endswith("/" + ref)}
                if (ref in present or beside in present or ref in folders or suffixes
                        or ("/" not in ref and path.name in names)):
                    continue
                misses.append(f"{f}:{n}: {ref}")
    for m in misses:
        print(m)
    if misses:
        print(f"check_references: {len(misses)} reference(s) to files the tree does not hold")
        return 1
    print(f"check_references: every reference resolves ({len(files)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
