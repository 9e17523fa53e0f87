"""Writing measured results into the docs: one section per script, replaced on re-runs."""

from __future__ import annotations

from pathlib import Path


def replace_section(doc: Path, heading: str, body: str) -> None:
    """Put ``heading`` + ``body`` into ``doc``, replacing that section if it is there (up to the
    next ``## `` heading) or appending it at the end."""
    text = doc.read_text(encoding="utf-8")
    if heading in text:
        head, rest = text.split(heading, 1)
        nxt = rest.find("\n## ")
        text = head + (rest[nxt + 1:] if nxt >= 0 else "")
    doc.write_text(text.rstrip("\n") + "\n\n" + heading + "\n\n" + body.rstrip("\n") + "\n",
                   encoding="utf-8")
