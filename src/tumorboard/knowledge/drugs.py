"""Drug names: one canonical name per drug, so a screen's drug matches a rule's agent.

A drug screen names its compounds as the lab's library does (brand names, development codes,
salts: "Votrient", "GW786034", "pazopanib hydrochloride"); the knowledge base names agents by
INN ("pazopanib"). :func:`canonical_drug` maps both to the same lower-case INN, using the
cited synonym list ``knowledge/drug_names.yaml`` and removing salt and hydrate suffixes;
:func:`drug_components` splits a combination ("dabrafenib + trametinib") into its canonical
agents. Names not in the list are kept (lower-cased, spacing normalised): an unknown
compound still matches itself across the models of a registry.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from importlib import resources

import yaml

#: Salt, ester-free-acid and hydrate words removed from the end of a drug name (USP/INN
#: naming of salts: the active moiety is the INN without them).
SALT_WORDS: frozenset[str] = frozenset({
    "acetate", "besylate", "besilate", "citrate", "dihydrochloride", "dimaleate",
    "dimesylate", "ditosylate", "fumarate", "hcl", "hydrate", "hydrobromide", "hydrochloride",
    "l-malate", "lactate", "malate", "maleate", "mesylate", "mesilate", "monohydrate",
    "phosphate", "potassium", "s-malate", "sodium", "succinate", "sulfate", "sulphate",
    "tartrate", "tosylate", "trihydrate", "dihydrate", "free base", "base",
})

#: Separators of the agents of a combination in a screen's drug column.
_COMBINATION = re.compile(r"\s*(?:\+|&|;|\bplus\b|\band\b|\bwith\b)\s*", re.IGNORECASE)
_SPACES = re.compile(r"[\s_]+")


def _key(name: str) -> str:
    """Lower case, NFKC, unicode dashes as '-', runs of space/underscore as one space."""
    text = unicodedata.normalize("NFKC", name).strip().lower()
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text)
    text = _SPACES.sub(" ", text)
    return re.sub(r"\s*-\s*", "-", text)


@cache
def synonyms() -> dict[str, str]:
    """Every listed other name (as :func:`_key` normalises it) -> the INN."""
    text = (resources.files("tumorboard.knowledge") / "drug_names.yaml").read_text("utf-8")
    table: dict[str, str] = {}
    for inn, entry in (yaml.safe_load(text) or {}).items():
        canonical = _key(inn)
        table[canonical] = canonical
        for other in entry.get("names", []):
            table[_key(str(other))] = canonical
            table[_key(str(other)).replace("-", "")] = canonical
    return table


def _strip_salts(key: str) -> str:
    words = key.split(" ")
    while len(words) > 1 and (words[-1] in SALT_WORDS or " ".join(words[-2:]) in SALT_WORDS):
        words = words[:-2] if " ".join(words[-2:]) in SALT_WORDS else words[:-1]
    return " ".join(words)


def canonical_drug(name: str) -> str:
    """The canonical (lower-case INN) name of one drug.

    >>> canonical_drug("Pazopanib Hydrochloride"), canonical_drug("GW786034")
    ('pazopanib', 'pazopanib')
    >>> canonical_drug("T-DXd"), canonical_drug("compound X-17")
    ('trastuzumab deruxtecan', 'compound x-17')
    """
    key = _key(name)
    table = synonyms()
    for candidate in (key, _strip_salts(key)):
        if candidate in table:
            return table[candidate]
        if candidate.replace("-", "") in table:
            return table[candidate.replace("-", "")]
    return _strip_salts(key)


def drug_components(name: str) -> tuple[str, ...]:
    """The canonical agents of a drug or combination, sorted.

    >>> drug_components("Trametinib + dabrafenib mesylate")
    ('dabrafenib', 'trametinib')
    """
    parts = [p for p in _COMBINATION.split(name) if p.strip()]
    return tuple(sorted({canonical_drug(p) for p in parts}))


def canonical_combination(name: str) -> str:
    """The canonical name of a drug or combination: its components joined by ' + '.

    >>> canonical_combination("Mekinist and Tafinlar")
    'dabrafenib + trametinib'
    """
    return " + ".join(drug_components(name))


def agent_set(agents: Iterable[str]) -> frozenset[str]:
    """The canonical agents of a therapy (or screened drug), as a set: how a screened drug
    and a rule's therapy are matched (equal sets).

    Each agent goes through :func:`drug_components`, so brand names, development codes and
    salts meet the INN, and a combination written as one agent ("dabrafenib + trametinib")
    equals the two agents listed separately.

    >>> sorted(agent_set(["Votrient"])), sorted(agent_set(["Mekinist and Tafinlar"]))
    (['pazopanib'], ['dabrafenib', 'trametinib'])
    """
    return frozenset(c for a in agents for c in drug_components(str(a)))
