"""Format profiles: the files Indonesian systems really write (OpenSID, SIAK, SIKS-NG, P3KE,
e-PPGBM, BPJS), each a small declarative mapping of headers, codes and layout.

A profile is picked from the file's header (`detect`), or named with `--format`. Every
profile and its public source is listed in docs/registers.md.
"""

from dataclasses import dataclass, field

from pesiar.registers.schema import VILLAGE_PARTS, Kind, header_key

# OpenSID `Kode Data` sheet of assets/import/FormatImporExcel.xlsm; SIAK uses the same
# numbering for STAT_HBKEL.
FAMILY_RELATION_CODES = {
    "1": "KEPALA KELUARGA",
    "2": "SUAMI",
    "3": "ISTRI",
    "4": "ANAK",
    "5": "MENANTU",
    "6": "CUCU",
    "7": "ORANG TUA",
    "8": "MERTUA",
    "9": "FAMILI LAIN",
    "10": "PEMBANTU",
    "11": "LAINNYA",
}
# OpenSID tweb_status_dasar: 1 HIDUP, 2 MATI, 3 PINDAH, 4 HILANG, 6 PERGI, 9 TIDAK VALID.
OPENSID_STATUS_DASAR = {
    "1": "HIDUP",
    "2": "MATI",
    "3": "PINDAH",
    "4": "HILANG",
    "6": "PERGI",
    "9": "TIDAK VALID",
}
# The same relations as words, in any case ("Istri", "ISTRI").
FAMILY_RELATION_WORDS = {word: word for word in FAMILY_RELATION_CODES.values()}
OPENSID_SEX = {"1": "L", "2": "P", "LK": "L", "PR": "P"}
# VClaim statusPeserta.kode: 0 is AKTIF; every other code is a kind of not active, named by
# statusPeserta.keterangan.
VCLAIM_STATUS = {"0": "AKTIF", "*": "NONAKTIF"}


@dataclass(frozen=True)
class Profile:
    name: str  # for --format
    label: str  # "detected: ..."
    kind: Kind
    source: str  # the public source the headers and codes come from
    columns: dict[str, str]  # source header -> canonical column (or NO_PROP.. part)
    markers: tuple[str, ...]  # source headers that all appear in this format's files
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # canonical -> codes
    optional: tuple[str, ...] = ()  # register columns this format does not have
    needs_village: bool = False  # the file belongs to one village and does not name it
    region_names: tuple[str, ...] = ()  # headers of province, regency, district, village names
    latest_measurement: bool = False  # several rows per child: keep the latest (e-PPGBM)

    def mapping(self) -> dict[str, str]:
        return dict(self.columns)


def columns(table: str) -> dict[str, str]:
    """A profile's column table, one `source header = canonical column` a line."""
    pairs = (line.rsplit("=", 1) for line in table.strip().splitlines())
    return {header.strip(): canonical.strip() for header, canonical in pairs}


PROFILES: tuple[Profile, ...] = (
    Profile(
        name="opensid-template",
        label="OpenSID import template",
        kind=Kind.POPULATION,
        source="OpenSID/OpenSID assets/import/FormatImporExcel.xlsm, "
        "donjo-app/models/Impor_model.php",
        columns=columns(
            """
            nik = nik
            no_kk = kk
            nama = name
            sex = sex
            tanggallahir = birth_date
            tempatlahir = birth_place
            alamat = address
            rt = rt
            rw = rw
            kk_level = family_relation
            status_dasar = life_status
            """
        ),
        markers=("nik", "no_kk", "nama", "sex", "tanggallahir", "kk_level", "dusun"),
        values={
            "sex": OPENSID_SEX,
            "family_relation": FAMILY_RELATION_CODES,
            "life_status": OPENSID_STATUS_DASAR,
        },
        needs_village=True,
    ),
    Profile(
        name="opensid-siak",
        label="OpenSID SIAK village export",
        kind=Kind.POPULATION,
        source="OpenSID/OpenSID assets/import/format_siak.xls",
        columns=columns(
            """
            Nomor KK = kk
            NIK = nik
            Nama Penduduk = name
            Status = life_status
            Tempat Lahir = birth_place
            Tanggal Lahir = birth_date
            Kelamin = sex
            SHDK = family_relation
            Alamat = address
            RW = rw
            RT = rt
            """
        ),
        markers=("Nomor KK", "Nama Penduduk", "Kelamin", "SHDK", "Desa/Kel"),
        values={"family_relation": FAMILY_RELATION_WORDS},
        needs_village=True,
    ),
    Profile(
        name="siak-dkb",
        label="SIAK / Dukcapil DKB (BIODATA_WNI)",
        kind=Kind.POPULATION,
        source="Dukcapil SIAK database: BIODATA_WNI and DATA_KELUARGA columns",
        columns=columns(
            """
            NIK = nik
            NO_KK = kk
            NAMA_LGKP = name
            JENIS_KLMIN = sex
            TMPT_LHR = birth_place
            TGL_LHR = birth_date
            STAT_HBKEL = family_relation
            ALAMAT = address
            NO_RT = rt
            NO_RW = rw
            TGL_MATI = death_date
            """
        )
        | {part.upper(): part for part in VILLAGE_PARTS},
        markers=("NAMA_LGKP", "JENIS_KLMIN", "STAT_HBKEL", *(p.upper() for p in VILLAGE_PARTS)),
        values={"family_relation": {**FAMILY_RELATION_CODES, **FAMILY_RELATION_WORDS}},
    ),
    Profile(
        name="dtks",
        label="DTKS / DTSEN (SIKS-NG export)",
        kind=Kind.WELFARE,
        source="Kemensos SIKS-NG DTKS export (pipe-delimited, quoted)",
        columns={"NIK": "nik", "NOKK": "kk"},
        markers=("ID DTKS", "NIK", "NOKK", "PROVINSI", "KABUPATEN", "KECAMATAN", "KELURAHAN"),
        optional=("decile",),
        region_names=("PROVINSI", "KABUPATEN", "KECAMATAN", "KELURAHAN"),
    ),
    Profile(
        name="p3ke",
        label="P3KE (Kemenko PMK)",
        kind=Kind.WELFARE,
        source="Kemenko PMK P3KE extract: Kode Kemdagri, Desil Kesejahteraan",
        columns=columns(
            """
            NIK = nik
            No KK = kk
            Desil Kesejahteraan = decile
            Kode Kemdagri = village_code
            """
        ),
        markers=("Kode Kemdagri", "Desil Kesejahteraan"),
    ),
    Profile(
        name="eppgbm",
        label="e-PPGBM / Sigizi measurements",
        kind=Kind.STUNTING,
        source="Kemenkes Sigizi Terpadu e-PPGBM export of measurements",
        columns=columns(
            """
            NIK = child_nik
            Nama Anak = child_name
            JK = sex
            Tgl Lahir = birth_date
            NIK Ortu = mother_nik
            Tanggal Pengukuran = measured_on
            ZS TB/U = height_z
            Stunting = stunted
            """
        ),
        markers=("Nama Anak", "Tanggal Pengukuran", "ZS TB/U", "Posyandu"),
        region_names=("Prov", "Kab/Kota", "Kec", "Desa/Kel"),
        latest_measurement=True,
    ),
    Profile(
        name="bpjs-extract",
        label="BPJS Kesehatan membership extract",
        kind=Kind.MEMBERSHIP,
        source="BPJS Kesehatan branch extract for the Pemda (data peserta per desa)",
        columns=columns(
            """
            NOKA = noka
            NIK = nik
            NAMA PESERTA = name
            JENIS KELAMIN = sex
            TGL LAHIR = birth_date
            NO KK = kk
            JENIS PESERTA = segment
            KELAS RAWAT = class
            STATUS PESERTA = status
            KETERANGAN STATUS = inactive_reason
            BULAN TUNGGAKAN = arrears_months
            TOTAL TUNGGAKAN = arrears_amount
            KODE FASKES = faskes_code
            KODE DESA = village_code
            """
        ),
        markers=("NOKA", "NAMA PESERTA", "JENIS PESERTA", "STATUS PESERTA"),
    ),
    Profile(
        name="bpjs-vclaim",
        label="BPJS VClaim peserta (JSON)",
        kind=Kind.MEMBERSHIP,
        source="BPJS Kesehatan VClaim REST: Peserta (response.peserta)",
        columns=columns(
            """
            noKartu = noka
            nik = nik
            nama = name
            sex = sex
            tglLahir = birth_date
            jenisPeserta.keterangan = segment
            hakKelas.kode = class
            statusPeserta.kode = status
            statusPeserta.keterangan = inactive_reason
            provUmum.kdProvider = faskes_code
            """
        ),
        markers=("noKartu", "statusPeserta.kode", "jenisPeserta.keterangan"),
        values={"status": VCLAIM_STATUS, "inactive_reason": {"AKTIF": ""}},
    ),
    Profile(
        name="bpjs-pcare",
        label="BPJS PCare peserta (JSON)",
        kind=Kind.MEMBERSHIP,
        source="BPJS Kesehatan PCare REST: Peserta",
        columns=columns(
            """
            noKartu = noka
            noKTP = nik
            nama = name
            sex = sex
            tglLahir = birth_date
            jnsPeserta.nama = segment
            jnsKelas.kode = class
            aktif = status
            ketAktif = inactive_reason
            tunggakan = arrears_amount
            kdProviderPst.kdProvider = faskes_code
            """
        ),
        markers=("noKartu", "ketAktif", "jnsPeserta.nama"),
        values={"inactive_reason": {"AKTIF": ""}},
    ),
)
BY_NAME = {p.name: p for p in PROFILES}


class ProfileError(ValueError):
    """No profile fits, or the one named does not fit: the message says why."""


@dataclass
class Fit:
    profile: Profile
    missing: list[str]  # marker headers not in the file
    matched: int  # mapped headers found


def fit(profile: Profile, header: list[str]) -> Fit:
    keys = {header_key(h) for h in header}
    missing = [m for m in profile.markers if header_key(m) not in keys]
    matched = sum(1 for h in profile.columns if header_key(h) in keys)
    return Fit(profile, missing, matched)


def detect(kind: Kind, header: list[str]) -> Profile | None:
    """The profile of `kind` whose markers are all in the header (the one mapping most
    columns if several do), or None."""
    fits = [fit(p, header) for p in PROFILES if p.kind == kind]
    complete = [f for f in fits if not f.missing]
    if not complete:
        return None
    return max(complete, key=lambda f: (len(f.profile.markers), f.matched)).profile


def nearest(header: list[str], kind: Kind | None = None) -> str:
    """A sentence naming the profile nearest to this header and what differs."""
    fits = [fit(p, header) for p in PROFILES if kind is None or p.kind == kind]
    if not fits:
        return ""
    best = max(fits, key=lambda f: (len(f.profile.markers) - len(f.missing), f.matched))
    if len(best.missing) == len(best.profile.markers):
        return "It matches none of the known formats (see docs/registers.md)."
    if not best.missing:
        return f"The file looks like {best.profile.label} (--format {best.profile.name})."
    return (
        f"Nearest known format: {best.profile.label} (--format {best.profile.name}); "
        f"its columns {', '.join(best.missing)} are not in the file."
    )


def named(name: str, kind: Kind) -> Profile:
    profile = BY_NAME.get(name)
    if profile is None:
        raise ProfileError(
            f"unknown format {name!r}; one of: {', '.join(p.name for p in PROFILES)}"
        )
    if profile.kind != kind:
        raise ProfileError(
            f"format {name!r} ({profile.label}) is a {profile.kind} register, not {kind}"
        )
    return profile
