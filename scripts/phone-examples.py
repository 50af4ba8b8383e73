#!/usr/bin/env python3
"""Writes crates/core/tests/data/phone_examples.tsv: libphonenumber's example number of every
region and number type (PyPI `phonenumbers`, the same metadata as Google's library), in E.164,
national and international format. The phone parser is tested against every row.

    pip install phonenumbers && python3 scripts/phone-examples.py
"""
import pathlib

import phonenumbers as p
from phonenumbers import PhoneNumberFormat as F
from phonenumbers import PhoneNumberType as T

TYPES = {
    "fixed_line": T.FIXED_LINE, "mobile": T.MOBILE, "toll_free": T.TOLL_FREE,
    "premium_rate": T.PREMIUM_RATE, "shared_cost": T.SHARED_COST, "voip": T.VOIP,
    "personal": T.PERSONAL_NUMBER, "pager": T.PAGER, "uan": T.UAN, "voicemail": T.VOICEMAIL,
}

rows = []
for region in sorted(p.SUPPORTED_REGIONS):
    seen = set()
    for name, kind in TYPES.items():
        number = p.example_number_for_type(region, kind)
        if number is None:
            continue
        e164 = p.format_number(number, F.E164)
        if (e164, name) in seen:
            continue
        seen.add((e164, name))
        assert p.is_valid_number(number), (region, name, e164)
        rows.append((region, name, e164, p.format_number(number, F.NATIONAL), p.format_number(number, F.INTERNATIONAL)))

out = pathlib.Path(__file__).resolve().parent.parent / "crates/core/tests/data/phone_examples.tsv"
with out.open("w") as f:
    f.write(f"# libphonenumber {p.__version__} example numbers (PyPI phonenumbers): region, type, E.164, national, international\n")
    for row in rows:
        f.write("\t".join(row) + "\n")
print(f"{len(rows)} numbers written to {out}")

# The countries a brand can be in: every region with a numbering plan, by its English name.
from phonenumbers.geodata.locale import LOCALE_DATA  # noqa: E402

EXTRA = {"AC": "Ascension Island", "TA": "Tristan da Cunha", "XK": "Kosovo"}


def english(region):
    if region in EXTRA:
        return EXTRA[region]
    names = LOCALE_DATA[region]
    name = names["en"]
    while name.startswith("*"):
        name = names[name[1:]]
    return name


countries = sorted(((english(r), r) for r in p.SUPPORTED_REGIONS), key=lambda c: c[0])
rust = pathlib.Path(__file__).resolve().parent.parent / "crates/core/src/countries.rs"
with rust.open("w") as f:
    f.write("//! Every country with a phone numbering plan in libphonenumber %s, by English name: the\n" % p.__version__)
    f.write("//! choices for a brand's country. Written by `scripts/phone-examples.py`.\n\n")
    f.write("/// (ISO 3166-1 code, English name), sorted by name.\n")
    f.write("pub const COUNTRIES: &[(&str, &str)] = &[\n")
    for name, code in countries:
        f.write('    ("%s", "%s"),\n' % (code, name.replace('"', '\\"')))
    f.write("];\n")
print(f"{len(countries)} countries written to {rust}")
