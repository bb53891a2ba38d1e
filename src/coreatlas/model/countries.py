"""ISO 3166-1 alpha-3 country codes: the codes a scenario, cut, export control or bloc may
name besides those a map defines (its countries, regions and residuals).

Source: the 249 ``alpha_3`` codes of ``iso_3166-1.json`` in Debian's ``iso-codes`` package,
version 4.15.0 (https://salsa.debian.org/iso-codes-team/iso-codes, LGPL-2.1+), which follows
the ISO 3166 Maintenance Agency's list of officially assigned codes. User-assigned codes
(such as XKX for Kosovo) are not included: a map that uses one defines it as a provider.
"""

from __future__ import annotations

__all__ = ["ISO_ALPHA3", "is_iso_alpha3"]

_CODES = """
    ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE BDI BEL BEN BES BFA BGD BGR
    BHR BHS BIH BLM BLR BLZ BMU BOL BRA BRB BRN BTN BVT BWA CAF CAN CCK CHE CHL CHN CIV CMR COD COG
    COK COL COM CPV CRI CUB CUW CXR CYM CYP CZE DEU DJI DMA DNK DOM DZA ECU EGY ERI ESH ESP EST ETH
    FIN FJI FLK FRA FRO FSM GAB GBR GEO GGY GHA GIB GIN GLP GMB GNB GNQ GRC GRD GRL GTM GUF GUM GUY
    HKG HMD HND HRV HTI HUN IDN IMN IND IOT IRL IRN IRQ ISL ISR ITA JAM JEY JOR JPN KAZ KEN KGZ KHM
    KIR KNA KOR KWT LAO LBN LBR LBY LCA LIE LKA LSO LTU LUX LVA MAC MAF MAR MCO MDA MDG MDV MEX MHL
    MKD MLI MLT MMR MNE MNG MNP MOZ MRT MSR MTQ MUS MWI MYS MYT NAM NCL NER NFK NGA NIC NIU NLD NOR
    NPL NRU NZL OMN PAK PAN PCN PER PHL PLW PNG POL PRI PRK PRT PRY PSE PYF QAT REU ROU RUS RWA SAU
    SDN SEN SGP SGS SHN SJM SLB SLE SLV SMR SOM SPM SRB SSD STP SUR SVK SVN SWE SWZ SXM SYC SYR TCA
    TCD TGO THA TJK TKL TKM TLS TON TTO TUN TUR TUV TWN TZA UGA UKR UMI URY USA UZB VAT VCT VEN VGB
    VIR VNM VUT WLF WSM YEM ZAF ZMB ZWE
"""
ISO_ALPHA3: frozenset[str] = frozenset(_CODES.split())


def is_iso_alpha3(code: str) -> bool:
    """True if ``code`` is an officially assigned ISO 3166-1 alpha-3 code (upper case)."""
    return code in ISO_ALPHA3
