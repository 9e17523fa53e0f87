"""Reader for Illumina IDAT files (Infinium methylation arrays) and their manifests, to betas.

An Infinium methylation array is scanned in two colour channels; the scanner writes one IDAT
file per channel (``<barcode>_<position>_Grn.idat`` and ``..._Red.idat``), holding the mean
intensity of every bead type ("address") on the chip. The manifest CSV maps the addresses to
probes. Betas follow from the intensities:

- **Infinium I** probes have two bead types, ``AddressA_ID`` (unmethylated) and
  ``AddressB_ID`` (methylated), both read in the channel named by ``Color_Channel``;
- **Infinium II** probes have one bead type, ``AddressA_ID``, read in both channels: Green is
  the methylated signal, Red the unmethylated one;
- ``beta = M / (M + U + offset)`` with Illumina's offset 100 (Bibikova et al., Genomics 2011,
  doi:10.1016/j.ygeno.2011.07.007; Illumina GenomeStudio Methylation Module; minfi
  ``getBeta(..., offset = 100)`` as in ``getBeta(preprocessRaw(rgSet))``, Aryee et al.,
  Bioinformatics 2014, doi:10.1093/bioinformatics/btu049).

The binary layout (IDAT version 3, little-endian) is read by hand because no maintained
Python package parses it without pulling in a whole pipeline; it follows illuminaio's
``readIDAT_nonenc`` (Smith et al., F1000Research 2013, doi:10.12688/f1000research.2-264.v1),
cross-checked with methylprep's ``methylprep/files/idat.py`` (same field codes and types):

=====  ==========  ==============================================================
byte   type        content
=====  ==========  ==============================================================
0      char[4]     magic ``IDAT``
4      int64       version (3; version 1 is the older XML-encrypted format)
12     int32       number of fields ``k``
16     k × (uint16 code, int64 byte offset)
=====  ==========  ==============================================================

Fields at their offsets: 1000 number of probes ``n`` (int32); 102 Illumina ids / addresses
(int32 × n); 103 SD (uint16 × n); 104 mean intensity (uint16 × n); 107 number of beads
(uint8 × n); 200 mid block (int32 count, then int32 ids); 300 run info (int32 count, then 5
strings per block); 400 red/green flag (int32); 401 manifest, 402 barcode, 403 chip type,
404 stripe, 405 OPA, 406 sample id, 407 description, 408 plate, 409 well, 410, 510 (strings).
A string is a length in 7-bit groups, low group first, the high bit of each byte saying
another length byte follows, then that many bytes.

Normalisation: only ``raw`` (minfi ``preprocessRaw``: intensities as scanned). Noob
background correction (Triche et al., Nucleic Acids Res 2013, doi:10.1093/nar/gks1213) is not
implemented. Probes measured on fewer than 3 beads in either signal are set to missing, as
wateRmelon's ``beadcount`` does (Pidsley et al., BMC Genomics 2013,
doi:10.1186/1471-2164-14-293).
"""

from __future__ import annotations

import io
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tumorboard.errors import InputError
from tumorboard.io._files import (
    plural,
    read_bytes,
    read_text,
)
from tumorboard.io.methylation import _EPICV2_SUFFIX, detect_platform
from tumorboard.io.tables import LayerData, conform

IDAT_MAGIC = b"IDAT"
IDAT_VERSION = 3
#: Illumina's beta offset (GenomeStudio; Bibikova et al. 2011).
ILLUMINA_OFFSET = 100
#: Fewest beads for a usable intensity (wateRmelon ``beadcount``, Pidsley et al. 2013).
MIN_BEADS = 3

# field code -> (name, numpy dtype of one array element or None for scalars/strings)
_N_PROBES = 1000
_ARRAYS = {102: ("illumina_ids", "<i4"), 103: ("sds", "<u2"), 104: ("means", "<u2"),
           107: ("n_beads", "u1")}
_RED_GREEN = 400
_STRINGS = {402: "barcode", 403: "chip_type", 406: "sample_id"}

MANIFEST_COLUMNS = ("IlmnID", "Name", "AddressA_ID", "AddressB_ID", "Infinium_Design_Type",
                    "Color_Channel")
_POSITION = re.compile(r"_(R\d{2}C\d{2})_")


@dataclass
class IdatData:
    """The contents of one IDAT file (one colour channel of one array).

    Attributes
    ----------
    illumina_ids, means, sds, n_beads
        Per bead type: address (int32), mean intensity (uint16), its standard deviation
        (uint16) and the number of beads (uint8), in file order.
    barcode, chip_type, sample_id
        Strings of fields 402, 403 and 406 when the file has them.
    position
        Array position on the chip (``R01C01``) from the file name, if it follows Illumina's
        naming; the IDAT itself does not store it.
    red_green
        Field 400 as stored; its meaning is undocumented and it is not used.
    """

    path: Path
    illumina_ids: np.ndarray
    means: np.ndarray
    sds: np.ndarray
    n_beads: np.ndarray
    version: int = IDAT_VERSION
    barcode: str | None = None
    chip_type: str | None = None
    sample_id: str | None = None
    position: str | None = None
    red_green: int | None = None
    fields: dict[int, int] = field(default_factory=dict)  # code -> byte offset

    @property
    def n_probes(self) -> int:
        return len(self.illumina_ids)

    def table(self) -> pd.DataFrame:
        """Mean, SD and bead count indexed by address."""
        return pd.DataFrame({"mean": self.means, "sd": self.sds, "n_beads": self.n_beads},
                            index=pd.Index(self.illumina_ids, name="address"))


def _idat_bytes(path: str | Path) -> tuple[Path, bytes]:
    return read_bytes(path)


def _truncated(path: Path, what: str, start: int, need: int, size: int) -> InputError:
    return InputError(
        f"IDAT file is truncated: {what} at byte {start:,} needs {need:,} bytes but the "
        f"file ends at byte {size:,}",
        file=path, expected="a complete IDAT file",
        fix="copy the file again from the scanner output or GEO and compare its checksum",
    )


def _read_string(path: Path, data: bytes, pos: int, what: str) -> str:
    length, shift = 0, 0
    while True:
        if pos >= len(data):
            raise _truncated(path, what, pos, 1, len(data))
        byte = data[pos]
        pos += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    if pos + length > len(data):
        raise _truncated(path, what, pos, length, len(data))
    return data[pos:pos + length].decode("utf-8", errors="replace")


def read_idat(path: str | Path) -> IdatData:
    """Read one Illumina IDAT file (version 3, plain or gzipped).

    Layout and field codes as in illuminaio ``readIDAT_nonenc`` (Smith et al.,
    F1000Research 2013, doi:10.12688/f1000research.2-264.v1); see the module docstring.

    Raises
    ------
    InputError
        Not an IDAT file (magic), version 1 (encrypted) or another unsupported version, a
        field or array reaching past the end of the file (truncated), arrays shorter than the
        probe count (overlapping fields), a missing required field, corrupt gzip.
    """
    p, data = _idat_bytes(path)
    size = len(data)
    if data[:4] != IDAT_MAGIC:
        raise InputError(
            f"not an IDAT file: it starts with {data[:4]!r}, not b'IDAT'",
            file=p, expected="an Illumina IDAT file (<barcode>_<position>_Grn.idat / _Red.idat)",
            fix="name the scanner's .idat (or .idat.gz) file, not a converted or renamed one",
        )
    if size < 16:
        raise _truncated(p, "the header", 0, 16, size)
    version, n_fields = struct.unpack_from("<qi", data, 4)
    if version == 1:
        raise InputError(
            "IDAT version 1 (XML-encrypted, from older GenomeStudio/BeadScan) is not supported",
            file=p, expected=f"IDAT version {IDAT_VERSION}",
            fix="decode it in R with illuminaio::readIDAT (minfi reads it too), export the "
                "betas and import them with format beta_matrix",
        )
    if version != IDAT_VERSION:
        raise InputError(f"unsupported IDAT version {version}", file=p,
                         expected=f"IDAT version {IDAT_VERSION}",
                         fix="convert the betas with minfi or SeSAMe and use format "
                             "beta_matrix")
    if n_fields <= 0 or 16 + 10 * n_fields > size:
        raise _truncated(p, f"the table of {n_fields:,} fields", 16, 10 * max(n_fields, 0),
                         size)
    fields: dict[int, int] = {}
    for i in range(n_fields):
        code, offset = struct.unpack_from("<Hq", data, 16 + 10 * i)
        if offset < 0 or offset >= size:
            raise _truncated(p, f"field {code}", offset, 1, size)
        fields[code] = offset
    required = [_N_PROBES, *_ARRAYS]
    missing = [c for c in required if c not in fields]
    if missing:
        raise InputError(
            f"IDAT file lacks field(s) {', '.join(map(str, missing))}",
            file=p, expected="fields 1000 (probe count), 102 (ids), 103 (SD), 104 (means), "
                             "107 (bead counts)",
            fix="re-copy the file from the scanner output",
        )
    start = fields[_N_PROBES]
    if start + 4 > size:
        raise _truncated(p, "the probe count (field 1000)", start, 4, size)
    (n,) = struct.unpack_from("<i", data, start)
    if n <= 0:
        raise InputError(f"IDAT file declares {n} probes", file=p,
                         fix="re-copy the file from the scanner output")
    ordered = sorted(fields.values())
    arrays: dict[str, np.ndarray] = {}
    for code, (name, dtype) in _ARRAYS.items():
        offset = fields[code]
        need = np.dtype(dtype).itemsize * n
        if offset + need > size:
            raise _truncated(p, f"field {code} ({name}, {n:,} values)", offset, need, size)
        following = [o for o in ordered if o > offset]
        if following and following[0] < offset + need:
            held = (following[0] - offset) // np.dtype(dtype).itemsize
            raise InputError(
                f"IDAT field {code} ({name}) holds {held:,} values but the file declares "
                f"{n:,} probes (array lengths do not match)",
                file=p, expected="every array as long as the probe count (field 1000)",
                fix="the file is damaged; copy it again from the scanner output",
            )
        arrays[name] = np.frombuffer(data, dtype=dtype, count=n, offset=offset).copy()
    strings = {name: _read_string(p, data, fields[code], f"field {code} ({name})")
               for code, name in _STRINGS.items() if code in fields}
    red_green = None
    if _RED_GREEN in fields and fields[_RED_GREEN] + 4 <= size:
        (red_green,) = struct.unpack_from("<i", data, fields[_RED_GREEN])
    position = _POSITION.search(p.name)
    return IdatData(path=p, version=version, fields=fields, red_green=red_green,
                    position=position.group(1) if position else None,
                    barcode=strings.get("barcode") or None,
                    chip_type=strings.get("chip_type") or None,
                    sample_id=strings.get("sample_id") or None, **arrays)


def read_manifest(path: str | Path) -> pd.DataFrame:
    """Read the ``[Assay]`` section of an Illumina methylation manifest CSV.

    The file has a ``[Heading]`` section, then ``[Assay]`` (header line and one row per
    probe) and ``[Controls]``; a file without section markers is read as the assay table.
    Plain or gzipped.

    Returns
    -------
    pandas.DataFrame
        Columns ``probe_id`` (``IlmnID`` with the EPIC v2 suffix removed, as
        :func:`tumorboard.io.methylation.read_beta_matrix` does), ``IlmnID``, ``Name``,
        ``design`` (``'I'``/``'II'``), ``channel`` (``'Red'``/``'Grn'`` for Infinium I, else
        empty), ``address_a`` and ``address_b`` (Int64; ``address_b`` missing for II).

    Raises
    ------
    InputError
        A missing required column (line of the header), a design type other than I/II, an
        Infinium I probe without a Red/Grn colour channel or without AddressB_ID, a
        non-numeric address, no probes.
    """
    p, text, _ = read_text(path)
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if line.strip().lower().startswith("[assay]")]
    if starts:
        first = starts[0] + 1
        end = next((i for i in range(first, len(lines)) if lines[i].startswith("[")),
                   len(lines))
    else:
        first, end = 0, len(lines)
    body = "\n".join(lines[first:end])
    try:
        table = pd.read_csv(io.StringIO(body), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"manifest [Assay] section cannot be read as CSV: {exc}", file=p,
                         line=first + 1, fix="use Illumina's manifest CSV unchanged") from exc
    table.columns = [c.strip() for c in table.columns]
    missing = [c for c in MANIFEST_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(
            f"manifest lacks column(s) {', '.join(missing)}", file=p, line=first + 1,
            expected=f"columns {', '.join(MANIFEST_COLUMNS)} in the [Assay] header",
            fix="use Illumina's manifest CSV (e.g. MethylationEPIC_v2.0 ... .csv) unchanged",
        )
    if table.empty:
        raise InputError("manifest has no probes in its [Assay] section", file=p,
                         fix="use Illumina's full manifest CSV")

    def line_of(row: int) -> int:
        return first + 2 + row

    design = table["Infinium_Design_Type"].str.strip().str.upper()
    bad = ~design.isin(["I", "II"])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"Infinium_Design_Type '{table['Infinium_Design_Type'].iloc[row]}'",
                         file=p, line=line_of(row), column="Infinium_Design_Type",
                         expected="I or II", fix="use Illumina's manifest CSV unchanged")
    channel = table["Color_Channel"].str.strip().str.capitalize()
    channel = channel.where(design == "I", "")
    bad = (design == "I") & ~channel.isin(["Red", "Grn"])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"Infinium I probe '{table['IlmnID'].iloc[row]}' has colour channel "
                         f"'{table['Color_Channel'].iloc[row]}'", file=p, line=line_of(row),
                         column="Color_Channel", expected="Red or Grn for Infinium I probes",
                         fix="use Illumina's manifest CSV unchanged")
    addresses = {}
    for col in ("AddressA_ID", "AddressB_ID"):
        raw = table[col].str.strip()
        values = pd.to_numeric(raw.mask(raw == ""), errors="coerce").astype("Int64")
        bad = values.isna() & (raw != "")
        if col == "AddressA_ID":
            bad |= raw == ""
        else:
            bad |= (design == "I") & (raw == "")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"{col} '{raw.iloc[row]}' of probe '{table['IlmnID'].iloc[row]}'",
                             file=p, line=line_of(row), column=col,
                             expected="a numeric bead address (AddressB_ID for Infinium I)",
                             fix="use Illumina's manifest CSV unchanged")
        addresses[col] = values
    ilmn = table["IlmnID"].str.strip()
    return pd.DataFrame({
        "probe_id": ilmn.str.replace(_EPICV2_SUFFIX, "", regex=True),
        "IlmnID": ilmn,
        "Name": table["Name"].str.strip(),
        "design": design,
        "channel": channel,
        "address_a": addresses["AddressA_ID"],
        "address_b": addresses["AddressB_ID"].where(design == "I"),
    })


def _signals(grn: IdatData, red: IdatData, manifest: pd.DataFrame
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Methylated, unmethylated, fewest beads, found mask, in-band minus out-of-band (I)."""
    g, r = grn.table(), red.table()
    type1 = (manifest["design"] == "I").to_numpy()
    in_red = type1 & (manifest["channel"] == "Red").to_numpy()
    a = manifest["address_a"].to_numpy(dtype="int64", na_value=-1)
    b = manifest["address_b"].to_numpy(dtype="int64", na_value=-1)

    def look(tab: pd.DataFrame, addr: np.ndarray, col: str) -> np.ndarray:
        # Address -1 (no AddressB for Infinium II) matches nothing: NaN.
        return tab[col].reindex(addr).to_numpy(dtype="float64")

    # Infinium I: U = A, M = B in the design channel; Infinium II: M = Grn(A), U = Red(A).
    m = np.where(type1, np.where(in_red, look(r, b, "mean"), look(g, b, "mean")),
                 look(g, a, "mean"))
    u = np.where(type1, np.where(in_red, look(r, a, "mean"), look(g, a, "mean")),
                 look(r, a, "mean"))
    beads_m = np.where(type1, np.where(in_red, look(r, b, "n_beads"), look(g, b, "n_beads")),
                       look(g, a, "n_beads"))
    beads_u = np.where(type1, np.where(in_red, look(r, a, "n_beads"), look(g, a, "n_beads")),
                       look(r, a, "n_beads"))
    found = np.isfinite(m) & np.isfinite(u)
    # Out-of-band: the other channel's intensity of the same Infinium I beads.
    oob_m = np.where(in_red, look(g, b, "mean"), look(r, b, "mean"))
    oob_u = np.where(in_red, look(g, a, "mean"), look(r, a, "mean"))
    band = np.where(type1, (m + u) - (oob_m + oob_u), np.nan)
    return m, u, np.fmin(beads_m, beads_u), found, band


def _check_pair(grn: IdatData, red: IdatData) -> None:
    if grn.barcode and red.barcode and grn.barcode != red.barcode:
        raise InputError(
            f"the Green and Red IDATs are from different chips (barcodes {grn.barcode} and "
            f"{red.barcode})", file=red.path,
            fix="name the _Grn and _Red files of the same array",
        )
    if grn.n_probes != red.n_probes or not np.array_equal(grn.illumina_ids, red.illumina_ids):
        raise InputError(
            f"the Green and Red IDATs do not list the same bead types ({grn.n_probes:,} and "
            f"{red.n_probes:,})", file=red.path,
            fix="name the _Grn and _Red files of the same array",
        )


def idat_betas(grn: IdatData, red: IdatData, manifest: pd.DataFrame, *,
               offset: float = ILLUMINA_OFFSET, method: str = "raw",
               min_beads: int = MIN_BEADS) -> pd.Series:
    """Beta values of every manifest probe from the two channels of one array.

    ``beta = M / (M + U + offset)`` on raw intensities (minfi ``preprocessRaw`` then
    ``getBeta(offset = 100)``; Illumina's offset 100, Bibikova et al., Genomics 2011,
    doi:10.1016/j.ygeno.2011.07.007). Infinium I probes: U = AddressA, M = AddressB, both in
    the manifest's ``Color_Channel``; Infinium II: M = Green and U = Red of AddressA. Probes
    with fewer than ``min_beads`` beads in either signal (wateRmelon ``beadcount``, Pidsley
    et al., BMC Genomics 2013, doi:10.1186/1471-2164-14-293) or whose address is not on the
    array are NaN.

    Parameters
    ----------
    grn, red
        The Green and Red channel files (:func:`read_idat`).
    manifest
        :func:`read_manifest` output.
    method
        ``'raw'`` only; ``'noob'`` (Triche et al. 2013) is not implemented.

    Returns
    -------
    pandas.Series
        Beta per probe (index ``probe_id``, manifest order, EPIC v2 suffix removed, so
        replicate probes repeat the id).

    Raises
    ------
    InputError
        Channels from different arrays; Green and Red swapped (most Infinium I probes brighter
        out of band than in band); a manifest that does not fit the array (fewer than half of
        its probes found); an unknown ``method``.
    """
    if method != "raw":
        raise InputError(f"normalisation method '{method}' is not implemented",
                         expected="method 'raw'",
                         fix="use method 'raw', or normalise with minfi/SeSAMe and import "
                             "the betas with format beta_matrix")
    _check_pair(grn, red)
    if pd.Index(grn.illumina_ids).has_duplicates:
        raise InputError("IDAT file lists a bead address twice", file=grn.path,
                         fix="the file is damaged; copy it again from the scanner output")
    m, u, beads, found, band = _signals(grn, red, manifest)
    if found.mean() < 0.5:
        raise InputError(
            f"the manifest does not fit this array: {int(found.sum()):,} of "
            f"{len(found):,} manifest probes have their bead addresses in the IDAT",
            file=grn.path,
            expected=f"the manifest of the array's chip type ({grn.chip_type or 'unknown'})",
            fix="use the manifest of this BeadChip (450k, EPIC or EPIC v2)",
        )
    judged = np.isfinite(band) & found
    if judged.sum() >= 10 and (band[judged] < 0).mean() > 0.75:
        raise InputError(
            "the Green and Red IDATs seem swapped: most Infinium I probes are brighter in "
            "the channel they are not designed for",
            file=grn.path,
            fix="give the _Grn file as the Green channel and the _Red file as the Red one",
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        beta = m / (m + u + offset)
    beta[~found | ~(beads >= min_beads)] = np.nan
    return pd.Series(beta, index=pd.Index(manifest["probe_id"].to_numpy(), name="probe_id"),
                     name="beta")


def red_path_for(grn_path: str | Path) -> Path:
    """The Red channel file next to a Green one: ``_Grn`` becomes ``_Red`` in the name."""
    p = Path(grn_path)
    if "_Grn" not in p.name:
        raise InputError("file name has no '_Grn'; cannot find the Red channel file",
                         file=p, expected="<barcode>_<position>_Grn.idat(.gz)",
                         fix="name the Green file, or give the Red one with option `red:`")
    head, _, tail = p.name.rpartition("_Grn")
    return p.with_name(f"{head}_Red{tail}")


def read_idat_pair(grn_path: str | Path, red_path: str | Path, manifest_path: str | Path, *,
                   sample: str | None = None, min_beads: int = MIN_BEADS) -> LayerData:
    """Read one array's Green and Red IDATs into the tidy ``methylation`` table.

    Betas by :func:`idat_betas` (raw, offset 100); EPIC v2 replicate probes of one CpG are
    averaged (mean of non-missing betas), as the beta-matrix reader does. ``platform`` by
    :func:`tumorboard.io.methylation.detect_platform` on the manifest's IlmnIDs. ``sample``
    is not used (an array holds one sample); it is accepted for the reader convention.

    Returns
    -------
    LayerData
        Table ``methylation`` (probe_id, beta); ``tool`` ``'IDAT'``; notes give barcode,
        position, chip type, probe count, method and missing betas.
    """
    grn, red = read_idat(grn_path), read_idat(red_path)
    manifest = read_manifest(manifest_path)
    betas = idat_betas(grn, red, manifest, min_beads=min_beads)
    table = pd.DataFrame({"probe_id": betas.index.to_numpy(), "beta": betas.to_numpy()})
    notes = [f"IDAT {grn.barcode or '?'}_{grn.position or '?'} (chip type "
             f"{grn.chip_type or 'not stated'}, {grn.n_probes:,} bead types); "
             f"{plural(len(manifest), 'manifest probe')}; raw betas M/(M+U+{ILLUMINA_OFFSET}), "
             "no background correction or normalisation"]
    missing = np.isnan(betas.to_numpy())
    if missing.any():
        notes.append(f"{int(missing.sum()):,} of {len(betas):,} probes have no beta (address "
                     f"not on the array or fewer than {min_beads} beads); kept as missing")
    if table["probe_id"].duplicated().any():
        n_rows = len(table)
        table = table.groupby("probe_id", sort=False, as_index=False)["beta"].mean()
        notes.append(f"{n_rows - len(table):,} EPIC v2 replicate probe rows averaged into "
                     "their CpG")
    table = conform(table, "methylation", source=str(grn.path))
    return LayerData(tables={"methylation": table}, samples_in_file=[],
                     platform=detect_platform(manifest["IlmnID"]), tool="IDAT", notes=notes)


def read_idat_sample(path: str | Path, *, manifest: str | Path, red: str | Path | None = None,
                     sample: str | None = None, min_beads: int = MIN_BEADS) -> LayerData:
    """The ``idat`` format of ``case.yaml``: ``path`` is the ``_Grn`` file.

    The Red file is ``red`` if given, else the Green file's name with ``_Grn`` replaced by
    ``_Red``; ``manifest`` names the manifest CSV (both options relative to the case folder).
    """
    red_path = Path(red) if red is not None else red_path_for(path)
    return read_idat_pair(path, red_path, manifest, sample=sample, min_beads=min_beads)
