"""Tests for tumorboard.io.idat: IDAT v3 parsing, manifests and raw betas.

The IDATs are written by :func:`write_idat` below following the layout of illuminaio's
``readIDAT_nonenc`` (Smith et al., F1000Research 2013): magic, int64 version, int32 field
count, (uint16 code, int64 offset) table, then fields 1000 (int32 n), 102 (int32 ids), 103
(uint16 SD), 104 (uint16 means), 107 (uint8 beads), 400 (int32), 402/403 (strings).

Hand-computed betas (offset 100) for the fixture of :func:`array`:

- cg00000001, Infinium II, address 101: M = Grn 900, U = Red 100 -> 900 / 1100 = 0.818182
- cg00000002, Infinium I Red, A 201 / B 202: U = Red 150, M = Red 1350 -> 1350 / 1600
  = 0.84375
- cg00000003, Infinium I Grn, A 301 / B 302: U = Grn 1900, M = Grn 0 -> 0 / 2000 = 0.0
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tumorboard.errors import InputError
from tumorboard.io.formats import FORMATS
from tumorboard.io.idat import (
    idat_betas,
    read_idat,
    read_idat_pair,
    read_idat_sample,
    read_manifest,
    red_path_for,
)
from tumorboard.io.tables import TABLES


def _string(text: str) -> bytes:
    raw = text.encode()
    n, out = len(raw), bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            break
    return bytes(out) + raw


def idat_bytes(ids, means, *, sds=None, beads=None, barcode="203000000001",
               chip_type="BeadChip 8x5", version=3, magic=b"IDAT", n_declared=None) -> bytes:
    """An IDAT v3 file as bytes (test writer; the product only reads)."""
    n = len(ids)
    sds = [10] * n if sds is None else sds
    beads = [12] * n if beads is None else beads
    bodies = [
        (1000, struct.pack("<i", n if n_declared is None else n_declared)),
        (102, np.asarray(ids, "<i4").tobytes()),
        (103, np.asarray(sds, "<u2").tobytes()),
        (104, np.asarray(means, "<u2").tobytes()),
        (107, np.asarray(beads, "u1").tobytes()),
        (400, struct.pack("<i", 1)),
        (402, _string(barcode)),
        (403, _string(chip_type)),
    ]
    header_size = 4 + 8 + 4 + 10 * len(bodies)
    table, data, offset = b"", b"", header_size
    for code, body in bodies:
        table += struct.pack("<Hq", code, offset)
        data += body
        offset += len(body)
    return magic + struct.pack("<qi", version, len(bodies)) + table + data


MANIFEST_HEAD = """Illumina, Inc.
[Heading]
Descriptor File Name,test_manifest.bpm
Assay Format,Infinium HD Methylation
[Assay]
IlmnID,Name,AddressA_ID,AlleleA_ProbeSeq,AddressB_ID,AlleleB_ProbeSeq,Infinium_Design_Type,Next_Base,Color_Channel,CHR
"""


def manifest_text(rows) -> str:
    lines = [f"{i},{n},{a},ACGT,{b},ACGT,{d},,{c},1" for i, n, a, b, d, c in rows]
    return MANIFEST_HEAD + "\n".join(lines) + "\n[Controls],,,,\n1,STAINING,Biotin\n"


#: (IlmnID, Name, AddressA, AddressB, design, channel); 20 probes: 8 II, 6 I-Red, 6 I-Grn.
def manifest_rows(suffix: str = ""):
    rows = [("cg00000001" + suffix, "cg00000001", 101, "", "II", ""),
            ("cg00000002" + suffix, "cg00000002", 201, 202, "I", "Red"),
            ("cg00000003" + suffix, "cg00000003", 301, 302, "I", "Grn")]
    for k in range(4, 21):
        kind = ("II", "Red", "Grn")[k % 3]
        if kind == "II":
            rows.append((f"cg{k:08d}{suffix}", f"cg{k:08d}", 1000 + k, "", "II", ""))
        else:
            rows.append((f"cg{k:08d}{suffix}", f"cg{k:08d}", 2000 + k, 3000 + k, "I", kind))
    return rows


def array(rows=None):
    """Per address the (Grn, Red) means: in-band bright, out-of-band dim."""
    rows = manifest_rows() if rows is None else rows
    grn, red = {}, {}
    fixed = {101: (900, 100), 201: (30, 150), 202: (40, 1350), 301: (1900, 20), 302: (0, 25)}
    for _, _, a, b, design, channel in rows:
        if a in fixed:
            grn[a], red[a] = fixed[a]
            if b != "":
                grn[b], red[b] = fixed[b]
            continue
        if design == "II":
            grn[a], red[a] = 600, 400
        elif channel == "Red":
            grn[a], red[a] = 50, 800
            grn[b], red[b] = 60, 200
        else:
            grn[a], red[a] = 700, 40
            grn[b], red[b] = 300, 30
    ids = sorted(grn)
    return ids, [grn[i] for i in ids], [red[i] for i in ids]


def write_case(tmp_path: Path, *, gz: bool = False, rows=None, swap: bool = False,
               beads=None, name="203000000001_R01C01"):
    rows = manifest_rows() if rows is None else rows
    ids, g, r = array(rows)
    if swap:
        g, r = r, g
    ext = ".idat.gz" if gz else ".idat"
    paths = []
    for channel, means in (("Grn", g), ("Red", r)):
        data = idat_bytes(ids, means, beads=beads)
        path = tmp_path / f"{name}_{channel}{ext}"
        path.write_bytes(gzip.compress(data) if gz else data)
        paths.append(path)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(manifest_text(rows), encoding="ascii")
    return paths[0], paths[1], manifest


def test_read_idat_fields(tmp_path):
    grn, _, _ = write_case(tmp_path)
    data = read_idat(grn)
    ids, g, _ = array()
    assert data.version == 3
    assert data.n_probes == len(ids)
    assert data.illumina_ids.tolist() == ids
    assert data.means.tolist() == g
    assert data.sds.tolist() == [10] * len(ids)
    assert data.n_beads.tolist() == [12] * len(ids)
    assert data.barcode == "203000000001"
    assert data.chip_type == "BeadChip 8x5"
    assert data.position == "R01C01"
    assert data.red_green == 1


def test_long_string_uses_two_length_bytes(tmp_path):
    path = tmp_path / "a_Grn.idat"
    path.write_bytes(idat_bytes([1, 2], [5, 6], chip_type="x" * 300))
    assert read_idat(path).chip_type == "x" * 300


def test_betas_by_hand(tmp_path):
    grn, red, manifest = write_case(tmp_path)
    betas = idat_betas(read_idat(grn), read_idat(red), read_manifest(manifest))
    assert betas["cg00000001"] == pytest.approx(900 / 1100)
    assert betas["cg00000002"] == pytest.approx(1350 / 1600)
    assert betas["cg00000003"] == 0.0
    assert len(betas) == 20 and betas.notna().all()


def test_read_idat_pair_table_and_provenance(tmp_path):
    grn, red, manifest = write_case(tmp_path, gz=True)
    layer = read_idat_pair(grn, red, manifest)
    table = layer.tables["methylation"]
    assert list(table.columns) == list(TABLES["methylation"])
    assert str(table["beta"].dtype) == "float32"
    assert table.set_index("probe_id")["beta"]["cg00000002"] == pytest.approx(0.84375)
    assert layer.tool == "IDAT"
    assert layer.platform == "unknown (sparse)"
    assert "203000000001_R01C01" in layer.notes[0] and "BeadChip 8x5" in layer.notes[0]


def test_epicv2_suffix_stripped_and_replicates_averaged(tmp_path):
    rows = manifest_rows("_TC21")
    # A second replicate probe of cg00000001, reusing the Infinium II bead of cg00000006
    # (Grn 600, Red 400: beta 600 / 1100).
    rows.append(("cg00000001_TC22", "cg00000001", 1006, "", "II", ""))
    grn, red, manifest = write_case(tmp_path, rows=rows)
    m = read_manifest(manifest)
    assert m["probe_id"].iloc[0] == "cg00000001" and m["IlmnID"].iloc[0] == "cg00000001_TC21"
    layer = read_idat_pair(grn, red, manifest)
    assert layer.platform == "EPICv2"
    table = layer.tables["methylation"]
    assert len(table) == 20
    assert table["probe_id"].iloc[0] == "cg00000001"
    # mean of 900 / 1100 and 600 / 1100
    assert table["beta"].iloc[0] == pytest.approx(1500 / 2200, rel=1e-6)
    assert any("replicate" in n for n in layer.notes)


def test_few_beads_and_missing_address_are_nan(tmp_path):
    rows = manifest_rows()
    rows.append(("cg00000099", "cg00000099", 99999, "", "II", ""))
    ids, _, _ = array(manifest_rows())
    beads = [2 if i == 101 else 12 for i in ids]
    grn, red, _ = write_case(tmp_path, beads=beads)
    manifest = tmp_path / "manifest2.csv"
    manifest.write_text(manifest_text(rows), encoding="ascii")
    layer = read_idat_pair(grn, red, manifest)
    betas = layer.tables["methylation"].set_index("probe_id")["beta"]
    assert np.isnan(betas["cg00000001"]) and np.isnan(betas["cg00000099"])
    assert betas.notna().sum() == 19
    assert any("2 of 21 probes have no beta" in n for n in layer.notes)


def test_case_format_derives_red_file(tmp_path):
    grn, red, manifest = write_case(tmp_path)
    assert red_path_for(grn) == red
    assert FORMATS["idat"].load_reader() is read_idat_sample
    layer = read_idat_sample(grn, manifest=manifest)
    assert len(layer.tables["methylation"]) == 20
    with pytest.raises(InputError, match="no '_Grn'"):
        red_path_for(tmp_path / "sample.idat")


def test_bad_magic(tmp_path):
    path = tmp_path / "x_Grn.idat"
    path.write_bytes(b"NOPE" + idat_bytes([1], [1])[4:])
    with pytest.raises(InputError, match="not an IDAT file"):
        read_idat(path)


def test_encrypted_version_1(tmp_path):
    path = tmp_path / "x_Grn.idat"
    path.write_bytes(idat_bytes([1, 2], [3, 4], version=1))
    with pytest.raises(InputError, match="version 1") as err:
        read_idat(path)
    assert "illuminaio" in str(err.value)


def test_other_version(tmp_path):
    path = tmp_path / "x_Grn.idat"
    path.write_bytes(idat_bytes([1, 2], [3, 4], version=4))
    with pytest.raises(InputError, match="unsupported IDAT version 4"):
        read_idat(path)


def test_truncated(tmp_path):
    data = idat_bytes(list(range(1, 21)), [5] * 20)
    path = tmp_path / "x_Grn.idat"
    path.write_bytes(data[:150])
    with pytest.raises(InputError, match="truncated"):
        read_idat(path)


def test_truncated_gzip(tmp_path):
    path = tmp_path / "x_Grn.idat.gz"
    path.write_bytes(gzip.compress(idat_bytes(list(range(1, 21)), [5] * 20))[:40])
    with pytest.raises(InputError, match="truncated or not valid gzip"):
        read_idat(path)


def test_array_length_mismatch(tmp_path):
    # Declares 30 probes but each array holds 20: field 102 runs into field 103.
    data = idat_bytes(list(range(1, 21)), [5] * 20, n_declared=30)
    path = tmp_path / "x_Grn.idat"
    path.write_bytes(data)
    with pytest.raises(InputError, match="array lengths do not match"):
        read_idat(path)


def test_manifest_missing_column(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(manifest_text(manifest_rows()).replace("Color_Channel", "Colour"),
                    encoding="ascii")
    with pytest.raises(InputError, match=r"lacks column.*Color_Channel") as err:
        read_manifest(path)
    assert err.value.line == 6


def test_manifest_infinium_i_without_channel(tmp_path):
    rows = manifest_rows()
    rows[1] = ("cg00000002", "cg00000002", 201, 202, "I", "")
    path = tmp_path / "m.csv"
    path.write_text(manifest_text(rows), encoding="ascii")
    with pytest.raises(InputError, match="colour channel") as err:
        read_manifest(path)
    assert err.value.line == 8


def test_manifest_that_does_not_fit(tmp_path):
    grn, red, _ = write_case(tmp_path)
    other = [(f"cg{k:08d}", f"cg{k:08d}", 50000 + k, "", "II", "") for k in range(1, 21)]
    path = tmp_path / "other.csv"
    path.write_text(manifest_text(other), encoding="ascii")
    with pytest.raises(InputError, match="does not fit this array"):
        read_idat_pair(grn, red, path)


def test_swapped_channels(tmp_path):
    grn, red, manifest = write_case(tmp_path, swap=True)
    with pytest.raises(InputError, match="swapped"):
        read_idat_pair(grn, red, manifest)


def test_channels_from_different_chips(tmp_path):
    grn, red, manifest = write_case(tmp_path)
    ids, _, r = array()
    red.write_bytes(idat_bytes(ids, r, barcode="999"))
    with pytest.raises(InputError, match="different chips"):
        read_idat_pair(grn, red, manifest)


def test_unknown_method(tmp_path):
    grn, red, manifest = write_case(tmp_path)
    with pytest.raises(InputError, match="not implemented"):
        idat_betas(read_idat(grn), read_idat(red), read_manifest(manifest), method="noob")


def test_manifest_dataframe(tmp_path):
    _, _, manifest = write_case(tmp_path)
    m = read_manifest(manifest)
    assert len(m) == 20
    assert m.loc[0, "design"] == "II" and pd.isna(m.loc[0, "address_b"])
    assert m.loc[1, ["channel", "address_a", "address_b"]].tolist() == ["Red", 201, 202]


def test_case_yaml_idat_entry_validates(tmp_path):
    """A case.yaml entry ``{format: idat, path: <Grn>, options: {manifest: ...}}``."""
    import yaml

    from tumorboard.intake import validate_case
    from tumorboard.simulate import simulate_cohort

    simulate_cohort(tmp_path / "cohort", n_dsrct=1, others={}, size="small")
    case_dir = tmp_path / "cohort" / "DSRCT-001"
    write_case(case_dir, gz=True)
    path = case_dir / "case.yaml"
    doc = yaml.safe_load(path.read_text())
    for sample in doc["samples"]:
        for f in sample.get("files", []):
            if f["layer"] == "methylation":
                f.clear()
                f.update({"layer": "methylation", "format": "idat",
                          "path": "203000000001_R01C01_Grn.idat.gz",
                          "options": {"manifest": "manifest.csv"}})
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    plan = validate_case(case_dir)
    planned = [f for f in plan.files if f.layer == "methylation"]
    assert [f.format for f in planned] == ["idat"]
