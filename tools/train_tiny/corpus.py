"""Read the training corpus: the fortune cookie files shipped by Debian's
``fortunes`` and ``fortunes-min`` packages (``apt-get install -y fortunes``).

Plain text under /usr/share/games/fortunes/, one fortune per entry, entries
separated by a line holding a single ``%``.  Standard library only.
"""

import glob
import hashlib
import os

FORTUNE_DIR = "/usr/share/games/fortunes"
# Files that are not prose (ASCII drawings) are left out.  The offensive
# collection (fortunes-off, ``off/`` subfolder) is never read.
SKIP_FILES = {"ascii-art"}
EOT = "<|endoftext|>"


def fortune_files(root=FORTUNE_DIR):
    files = []
    for path in sorted(glob.glob(os.path.join(root, "*"))):
        name = os.path.basename(path)
        if os.path.isdir(path) or os.path.islink(path):
            continue  # skips off/ and the *.u8 symlinks
        if name.endswith(".dat") or name in SKIP_FILES:
            continue
        files.append(path)
    return files


def read_fortunes(root=FORTUNE_DIR):
    """Return (entries, sha256) - the list of fortune texts, in a fixed order."""
    files = fortune_files(root)
    if not files:
        raise SystemExit(
            "no fortune files under %s - install them with:\n"
            "  apt-get install -y fortunes fortunes-min fortune-mod" % root)
    entries = []
    h = hashlib.sha256()
    for path in files:
        with open(path, "rb") as f:
            raw = f.read()
        h.update(os.path.basename(path).encode() + b"\0" + raw + b"\0")
        text = raw.decode("utf-8").replace("\r\n", "\n")
        cur = []
        for line in text.split("\n"):
            if line == "%":
                entries.append("\n".join(cur))
                cur = []
            else:
                cur.append(line)
        entries.append("\n".join(cur))
    out = []
    for e in entries:
        e = "\n".join(l.rstrip() for l in e.split("\n")).strip("\n")
        if e.strip():
            out.append(e)
    return out, h.hexdigest()
