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


def machine() -> str:
    """This machine in one line: cores, CPU model, RAM (the start of every results header)."""
    import os
    import subprocess

    model = "unknown CPU"
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in lscpu.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores (nproc), {model}, {mem_gib:.0f} GiB RAM"
