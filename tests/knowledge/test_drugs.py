"""Canonical drug names (knowledge/drug_names.yaml, tumorboard.knowledge.drugs)."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from tumorboard.knowledge.base import curated_bases
from tumorboard.knowledge.drugs import canonical_combination, canonical_drug, drug_components


@pytest.mark.parametrize(("given", "expected"), [
    ("Pazopanib hydrochloride", "pazopanib"),
    ("GW-786034", "pazopanib"),
    ("gw786034", "pazopanib"),
    ("  Votrient ", "pazopanib"),
    ("T-DXd", "trastuzumab deruxtecan"),
    ("DS‑8201a", "trastuzumab deruxtecan"),  # non-breaking hyphen from a spreadsheet
    ("Cabozantinib S-malate", "cabozantinib"),
    ("imatinib mesylate", "imatinib"),
    ("Actinomycin D", "dactinomycin"),
    ("SN-38", "sn-38"),  # a metabolite stays itself (drug_names.yaml header)
    ("Compound_X 17", "compound x 17"),
    ("sodium", "sodium"),  # a salt word alone is a name, not a suffix
])
def test_canonical_drug(given: str, expected: str) -> None:
    assert canonical_drug(given) == expected


def test_combinations_are_order_free() -> None:
    assert drug_components("Tafinlar + Mekinist") == ("dabrafenib", "trametinib")
    assert canonical_combination("trametinib & dabrafenib") == "dabrafenib + trametinib"
    assert drug_components("olaparib") == ("olaparib",)


def test_every_rule_agent_is_its_own_canonical_name() -> None:
    """The rules name agents by INN, so the synonym list must not rename any of them."""
    agents = {a for b in curated_bases() for r in b.kb.rules
              for a in r.therapy.agents if "(" not in a}
    assert agents
    for agent in agents:
        assert canonical_drug(agent) == agent.lower(), agent


def test_no_name_maps_to_two_drugs() -> None:
    text = (resources.files("tumorboard.knowledge") / "drug_names.yaml").read_text("utf-8")
    entries = yaml.safe_load(text)
    owner: dict[str, str] = {}
    for inn, entry in entries.items():
        assert entry["source"], inn
        for name in [inn, *entry["names"]]:
            key = name.lower()
            assert owner.setdefault(key, inn) == inn, f"{name} listed for {owner[key]} and {inn}"
