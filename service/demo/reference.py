"""Static reference data of the demo: real indices, securities, managers, ETFs and Connect eligibility.

Names, codes, exchanges and the facts in /work/shared/domain.md are real. What no source confirmed is
marked: ISINs are given only where known with confidence (else None); membership weights are illustrative
(scores resembling market capitalisations, capped and normalised to exactly 100%); the licensees of the
two April-2026 HKEX indices and their products are illustrative (``is_illustrative`` / "(illustrative)").
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

Direction = Literal["SOUTHBOUND", "NORTHBOUND"]
Channel = Literal["SHANGHAI", "SHENZHEN"]
EligibilityStatus = Literal["ELIGIBLE", "SELL_ONLY"]
LicenceStatus = Literal["SIGNED", "PRODUCT_LAUNCHED", "LAPSED"]
Replication = Literal["PHYSICAL", "SYNTHETIC"]

HUNDRED = Decimal("100.000000")
WEIGHT_STEP = Decimal("0.000001")

MIC_CURRENCY: Mapping[str, str] = {
    "XHKG": "HKD",
    "XSHG": "CNY",
    "XSHE": "CNY",
    "XNAS": "USD",
    "XNYS": "USD",
    "XKRX": "KRW",
    "XKOS": "KRW",
    "XTAI": "TWD",
    "XTKS": "JPY",
    "XAMS": "EUR",
}


@dataclass(frozen=True, slots=True)
class IndexRef:
    code: str
    name: str
    provider: str
    currency: str
    base_date: date | None
    base_value: Decimal | None
    launch_date: date | None
    weighting: str | None
    weight_cap_pct: Decimal | None
    review_frequency: str | None
    rebalance_frequency: str | None
    constituent_count: int | None
    methodology_notes: str | None
    themes: tuple[str, ...]
    is_illustrative: bool = False


@dataclass(frozen=True, slots=True)
class SecurityRef:
    mic: str
    local_code: str
    name: str
    sector: str | None
    country: str
    currency: str
    isin: str | None

    @property
    def key(self) -> str:
        return f"{self.mic}:{self.local_code}"


@dataclass(frozen=True, slots=True)
class MembershipRef:
    index_code: str
    security_key: str
    weight_pct: Decimal
    effective_from: date
    effective_to: date | None


@dataclass(frozen=True, slots=True)
class ManagerRef:
    slug: str
    legal_name: str
    short_name: str
    home_market: str
    website: str | None


@dataclass(frozen=True, slots=True)
class LicenceRef:
    index_code: str
    manager_slug: str
    licensed_on: date
    status: LicenceStatus
    is_illustrative: bool
    notes: str | None


@dataclass(frozen=True, slots=True)
class EtfRef:
    mic: str
    code: str
    isin: str | None
    name_en: str
    name_zh: str | None
    issuer_slug: str
    index_code: str | None
    listing_date: date
    delisting_date: date | None
    base_currency: str
    replication: Replication
    ongoing_charges_pct: Decimal | None
    leverage_factor: Decimal | None
    # Hints for the illustrative daily figures: NAV per unit and AUM (base currency) at the window start.
    nav_hint: float
    aum_hint: float

    @property
    def key(self) -> str:
        return f"{self.mic}:{self.code}"

    @property
    def is_leveraged_inverse(self) -> bool:
        return self.leverage_factor is not None and self.leverage_factor != 1


@dataclass(frozen=True, slots=True)
class CounterRef:
    etf_key: str
    mic: str
    code: str
    currency: str
    is_primary: bool


@dataclass(frozen=True, slots=True)
class EligibilityRef:
    etf_key: str
    direction: Direction
    channel: Channel
    status: EligibilityStatus
    effective_from: date
    effective_to: date | None
    reason: str


@dataclass(frozen=True, slots=True)
class DatasetRef:
    name: str
    description: str
    source: str
    is_illustrative: bool


@dataclass(frozen=True, slots=True)
class Reference:
    """One coherent set of reference rows, keyed by natural keys (the loader maps them to ids)."""

    indices: tuple[IndexRef, ...]
    securities: tuple[SecurityRef, ...]
    memberships: tuple[MembershipRef, ...]
    managers: tuple[ManagerRef, ...]
    licences: tuple[LicenceRef, ...]
    etfs: tuple[EtfRef, ...]
    counters: tuple[CounterRef, ...]
    eligibility: tuple[EligibilityRef, ...]


# --------------------------------------------------------------------------------------------------
# Weights


def capped_weights(scores: Sequence[tuple[str, float]], cap: Decimal | None) -> list[tuple[str, Decimal]]:
    """Weights proportional to ``scores``, no weight above ``cap``, rounded to 6 dp, summing to 100.

    Capped weights are redistributed proportionally among the others until none exceeds the cap; the
    rounding residue goes to the largest weight that can take it without breaking the cap.
    """
    if not scores:
        return []
    cap_f = float(cap) if cap is not None else 100.0
    if cap_f * len(scores) < 100.0:
        raise ValueError(f"{len(scores)} members cannot satisfy a {cap}% cap")
    raw = [max(s, 1e-9) for _, s in scores]
    capped = [False] * len(raw)
    weights = [0.0] * len(raw)
    while True:
        free = 100.0 - cap_f * sum(capped)
        free_score = sum(s for s, c in zip(raw, capped, strict=True) if not c)
        over = False
        for i, s in enumerate(raw):
            if capped[i]:
                weights[i] = cap_f
            else:
                weights[i] = free * s / free_score
                if weights[i] > cap_f:
                    over = True
        if not over:
            break
        for i, w in enumerate(weights):
            if not capped[i] and w > cap_f:
                capped[i] = True
    rounded = [(cap if capped[i] and cap is not None else Decimal(f"{w:.6f}")) for i, w in enumerate(weights)]
    residue = HUNDRED - sum(rounded, Decimal(0))
    if residue:
        order = sorted(range(len(rounded)), key=lambda i: (-rounded[i], i))
        for i in order:
            candidate = rounded[i] + residue
            if candidate >= 0 and (cap is None or candidate <= cap):
                rounded[i] = candidate
                break
        else:  # pragma: no cover - only with degenerate caps
            raise ValueError("cannot place the rounding residue within the cap")
    return [(key, w.quantize(WEIGHT_STEP)) for (key, _), w in zip(scores, rounded, strict=True)]


def isin_check_digit(body: str) -> int:
    """The ISIN check digit of the first 11 characters (letters as 10..35, then Luhn)."""
    digits = "".join(str(int(ch, 36)) for ch in body)
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return (10 - total % 10) % 10


@dataclass(frozen=True, slots=True)
class Rebalance:
    """A snapshot change: members added (with scores) and removed; the others' scores drift."""

    effective_from: date
    add: tuple[tuple[str, float], ...] = ()
    remove: tuple[str, ...] = ()


def membership_history(
    index_code: str,
    cap: Decimal | None,
    base: Sequence[tuple[str, float]],
    start: date,
    rebalances: Sequence[Rebalance] = (),
) -> list[MembershipRef]:
    """Periods [from, next from) per snapshot; scores drift a little at each rebalance (seeded by name)."""
    snapshots: list[tuple[date, list[tuple[str, float]]]] = [(start, list(base))]
    current = list(base)
    for rb in rebalances:
        drift = random.Random(f"{index_code}:{rb.effective_from.isoformat()}")
        kept = [(k, s * (0.85 + 0.3 * drift.random())) for k, s in current if k not in rb.remove]
        current = kept + list(rb.add)
        snapshots.append((rb.effective_from, current))
    rows: list[MembershipRef] = []
    for n, (effective_from, members) in enumerate(snapshots):
        effective_to = snapshots[n + 1][0] if n + 1 < len(snapshots) else None
        for key, weight in capped_weights(members, cap):
            rows.append(MembershipRef(index_code, key, weight, effective_from, effective_to))
    return rows


# --------------------------------------------------------------------------------------------------
# Indices

_ILLUSTRATIVE_METHOD = (
    "Launched by HKEX in April 2026 and licensed to five asset managers (confirmed). Launch day, base, "
    "weighting, cap and review schedule shown here are illustrative: no source we hold confirms them."
)

INDICES: tuple[IndexRef, ...] = (
    IndexRef(
        code="HKEX-KRX-SEMI",
        name="HKEX KRX Semiconductor Index",
        provider="HKEX",
        currency="HKD",
        base_date=date(2025, 12, 31),
        base_value=Decimal("1000"),
        launch_date=date(2026, 4, 13),
        weighting="free-float market capitalisation (illustrative)",
        weight_cap_pct=Decimal("10"),
        review_frequency="semi-annual (illustrative)",
        rebalance_frequency="quarterly (illustrative)",
        constituent_count=None,
        methodology_notes="Korean and other chipmakers, e.g. Samsung Electronics and SK Hynix. "
        + _ILLUSTRATIVE_METHOD,
        themes=("semiconductor", "technology", "korea"),
        is_illustrative=True,
    ),
    IndexRef(
        code="HKEX-TECH-USTECH100",
        name="HKEX Tech & US Tech 100 Index",
        provider="HKEX",
        currency="HKD",
        base_date=date(2025, 12, 31),
        base_value=Decimal("1000"),
        launch_date=date(2026, 4, 13),
        weighting="free-float market capitalisation (illustrative)",
        weight_cap_pct=Decimal("10"),
        review_frequency="semi-annual (illustrative)",
        rebalance_frequency="quarterly (illustrative)",
        constituent_count=None,
        methodology_notes="Hong Kong-listed and US-listed technology leaders. " + _ILLUSTRATIVE_METHOD,
        themes=("technology", "us"),
        is_illustrative=True,
    ),
    IndexRef(
        code="HKEX-TECH100",
        name="HKEX Tech 100 Index",
        provider="HKEX",
        currency="HKD",
        base_date=date(2020, 12, 31),
        base_value=Decimal("10000"),
        launch_date=date(2025, 12, 9),
        weighting="free-float market capitalisation",
        weight_cap_pct=Decimal("12"),
        review_frequency="semi-annual",
        rebalance_frequency="quarterly",
        constituent_count=100,
        methodology_notes="100 large and mid-cap companies across six innovative industries. Licensed "
        "to E Fund for a mainland ETF (announced 9 Dec 2025). The demo holds a subset of the "
        "constituents, re-weighted to 100%.",
        themes=("technology",),
    ),
    IndexRef(
        code="HSI",
        name="Hang Seng Index",
        provider="Hang Seng Indexes Company",
        currency="HKD",
        base_date=date(1964, 7, 31),
        base_value=Decimal("100"),
        launch_date=date(1969, 11, 24),
        weighting="free-float-adjusted market capitalisation",
        weight_cap_pct=Decimal("8"),
        review_frequency="quarterly",
        rebalance_frequency="quarterly",
        constituent_count=89,
        methodology_notes="89 constituents from Dec 2025. Changes take effect on the Monday after the "
        "first Friday of Mar/Jun/Sep/Dec. The demo holds a subset, re-weighted to 100%.",
        themes=("broad-market",),
    ),
    IndexRef(
        code="HSTECH",
        name="Hang Seng TECH Index",
        provider="Hang Seng Indexes Company",
        currency="HKD",
        base_date=date(2014, 12, 31),
        base_value=Decimal("3000"),
        launch_date=date(2020, 7, 27),
        weighting="free-float-adjusted market capitalisation",
        weight_cap_pct=Decimal("8"),
        review_frequency="quarterly",
        rebalance_frequency="quarterly",
        constituent_count=30,
        methodology_notes="The 30 largest technology companies listed in Hong Kong. Changes take "
        "effect on the Monday after the first Friday of Mar/Jun/Sep/Dec.",
        themes=("technology",),
    ),
    IndexRef(
        code="HSBIO",
        name="Hang Seng Biotech Index",
        provider="Hang Seng Indexes Company",
        currency="HKD",
        base_date=None,
        base_value=None,
        launch_date=None,
        weighting="free-float-adjusted market capitalisation",
        weight_cap_pct=None,
        review_frequency="quarterly",
        rebalance_frequency="quarterly",
        constituent_count=30,
        methodology_notes="Hong Kong-listed biotech companies, including Chapter 18A listings; fixed "
        "at 30 constituents from 8 Sep 2025; index futures on HKEX from 28 Nov 2025. The demo holds "
        "a subset, re-weighted to 100%.",
        themes=("biotech", "healthcare"),
    ),
    IndexRef(
        code="CSI300",
        name="CSI 300 Index",
        provider="China Securities Index",
        currency="CNY",
        base_date=date(2004, 12, 31),
        base_value=Decimal("1000"),
        launch_date=date(2005, 4, 8),
        weighting="free-float market capitalisation",
        weight_cap_pct=None,
        review_frequency="semi-annual",
        rebalance_frequency="semi-annual",
        constituent_count=300,
        methodology_notes="300 large A-shares listed in Shanghai and Shenzhen. Changes take effect "
        "after the second Friday of June and December. The demo holds a subset, re-weighted to 100%.",
        themes=("broad-market", "china-a"),
    ),
)


# --------------------------------------------------------------------------------------------------
# Securities


def _sec(mic: str, code: str, name: str, sector: str, country: str, isin: str | None = None) -> SecurityRef:
    return SecurityRef(mic, code, name, sector, country, MIC_CURRENCY[mic], isin)


IT = "Information Technology"
COMM = "Communication Services"
DISC = "Consumer Discretionary"
STAP = "Consumer Staples"
FIN = "Financials"
HEALTH = "Health Care"
ENERGY = "Energy"
IND = "Industrials"
RE = "Real Estate"
UTIL = "Utilities"
MAT = "Materials"

SECURITIES: tuple[SecurityRef, ...] = (
    # Korea
    _sec("XKRX", "005930", "Samsung Electronics", IT, "KR", "KR7005930003"),
    _sec("XKRX", "000660", "SK Hynix", IT, "KR", "KR7000660001"),
    _sec("XKRX", "042700", "Hanmi Semiconductor", IT, "KR", "KR7042700005"),
    _sec("XKRX", "009150", "Samsung Electro-Mechanics", IT, "KR", "KR7009150004"),
    _sec("XKRX", "402340", "SK Square", IT, "KR", "KR7402340004"),
    _sec("XKRX", "011070", "LG Innotek", IT, "KR", "KR7011070000"),
    _sec("XKRX", "000990", "DB HiTek", IT, "KR", "KR7000990002"),
    _sec("XKRX", "006400", "Samsung SDI", IT, "KR", "KR7006400006"),
    _sec("XKOS", "058470", "Leeno Industrial", IT, "KR", "KR7058470006"),
    # Taiwan, Japan, Netherlands
    _sec("XTAI", "2330", "Taiwan Semiconductor Manufacturing", IT, "TW", "TW0002330008"),
    _sec("XTKS", "8035", "Tokyo Electron", IT, "JP", "JP3571400005"),
    _sec("XTKS", "6857", "Advantest", IT, "JP", "JP3122400009"),
    # United States (Nasdaq)
    _sec("XNAS", "NVDA", "NVIDIA", IT, "US", "US67066G1040"),
    _sec("XNAS", "AAPL", "Apple", IT, "US", "US0378331005"),
    _sec("XNAS", "MSFT", "Microsoft", IT, "US", "US5949181045"),
    _sec("XNAS", "AVGO", "Broadcom", IT, "US", "US11135F1012"),
    _sec("XNAS", "AMD", "Advanced Micro Devices", IT, "US", "US0079031078"),
    _sec("XNAS", "QCOM", "Qualcomm", IT, "US", "US7475251036"),
    _sec("XNAS", "MU", "Micron Technology", IT, "US", "US5951121038"),
    _sec("XNAS", "INTC", "Intel", IT, "US", "US4581401001"),
    _sec("XNAS", "TXN", "Texas Instruments", IT, "US", "US8825081040"),
    _sec("XNAS", "ASML", "ASML Holding (NY registry shares)", IT, "NL", "USN070592100"),
    _sec("XNAS", "CSCO", "Cisco Systems", IT, "US", "US17275R1023"),
    _sec("XNAS", "ADBE", "Adobe", IT, "US", "US00724F1012"),
    _sec("XNAS", "AMZN", "Amazon.com", DISC, "US", "US0231351067"),
    _sec("XNAS", "GOOGL", "Alphabet (Class A)", COMM, "US", "US02079K3059"),
    _sec("XNAS", "META", "Meta Platforms", COMM, "US", "US30303M1027"),
    _sec("XNAS", "TSLA", "Tesla", DISC, "US", "US88160R1014"),
    _sec("XNAS", "NFLX", "Netflix", COMM, "US", "US64110L1061"),
    # Hong Kong: technology and internet
    _sec("XHKG", "00700", "Tencent Holdings", COMM, "CN", "KYG875721634"),
    _sec("XHKG", "09988", "Alibaba Group Holding", DISC, "CN", "KYG017191142"),
    _sec("XHKG", "03690", "Meituan", DISC, "CN", "KYG596691041"),
    _sec("XHKG", "01810", "Xiaomi Corporation", IT, "CN", "KYG9830T1067"),
    _sec(
        "XHKG",
        "00981",
        "Semiconductor Manufacturing International (SMIC)",
        IT,
        "CN",
        "KYG8020E1199",
    ),
    _sec("XHKG", "01347", "Hua Hong Semiconductor", IT, "CN", "HK0000218211"),
    _sec("XHKG", "01211", "BYD Company (H)", DISC, "CN", "CNE100000296"),
    _sec("XHKG", "09618", "JD.com", DISC, "CN", "KYG8208B1014"),
    _sec("XHKG", "09999", "NetEase", COMM, "CN", "KYG6427A1022"),
    _sec("XHKG", "09888", "Baidu", COMM, "CN", "KYG070341048"),
    _sec("XHKG", "01024", "Kuaishou Technology", COMM, "CN", "KYG532631028"),
    _sec("XHKG", "02015", "Li Auto", DISC, "CN", "KYG5479M1050"),
    _sec("XHKG", "09868", "XPeng", DISC, "CN", "KYG982AW1003"),
    _sec("XHKG", "09866", "NIO", DISC, "CN", "KYG6525F1028"),
    _sec("XHKG", "09863", "Leapmotor Technology", DISC, "CN"),
    _sec("XHKG", "09961", "Trip.com Group", DISC, "CN", "KYG9066F1019"),
    _sec("XHKG", "00992", "Lenovo Group", IT, "CN", "HK0992009065"),
    _sec("XHKG", "02382", "Sunny Optical Technology", IT, "CN", "KYG8586D1097"),
    _sec("XHKG", "00268", "Kingdee International Software", IT, "CN", "KYG525681477"),
    _sec("XHKG", "00241", "Alibaba Health Information Technology", HEALTH, "CN", "BMG0171K1018"),
    _sec("XHKG", "06618", "JD Health International", HEALTH, "CN", "KYG5074A1004"),
    _sec("XHKG", "09626", "Bilibili", COMM, "CN"),
    _sec("XHKG", "06690", "Haier Smart Home (H)", DISC, "CN"),
    _sec("XHKG", "00285", "BYD Electronic (International)", IT, "CN"),
    _sec("XHKG", "00020", "SenseTime Group", IT, "CN"),
    _sec("XHKG", "00780", "Tongcheng Travel", DISC, "CN"),
    _sec("XHKG", "01833", "Ping An Healthcare and Technology", HEALTH, "CN"),
    _sec("XHKG", "06060", "ZhongAn Online P&C Insurance", FIN, "CN"),
    _sec("XHKG", "00772", "China Literature", COMM, "CN"),
    _sec("XHKG", "02018", "AAC Technologies", IT, "CN"),
    _sec("XHKG", "03888", "Kingsoft Corporation", IT, "CN"),
    _sec("XHKG", "09660", "Horizon Robotics", IT, "CN"),
    _sec("XHKG", "03750", "Contemporary Amperex Technology (H)", IND, "CN"),
    _sec("XHKG", "00175", "Geely Automobile", DISC, "CN", "KYG3777B1032"),
    # Hong Kong: financials, property, utilities, energy, consumer
    _sec("XHKG", "00005", "HSBC Holdings", FIN, "GB", "GB0005405286"),
    _sec("XHKG", "01299", "AIA Group", FIN, "HK", "HK0000069689"),
    _sec("XHKG", "00941", "China Mobile", COMM, "CN", "HK0941009539"),
    _sec("XHKG", "00388", "Hong Kong Exchanges and Clearing", FIN, "HK", "HK0388045442"),
    _sec("XHKG", "00939", "China Construction Bank (H)", FIN, "CN", "CNE1000002H1"),
    _sec("XHKG", "01398", "Industrial and Commercial Bank of China (H)", FIN, "CN", "CNE1000003G1"),
    _sec("XHKG", "03988", "Bank of China (H)", FIN, "CN", "CNE1000001Z5"),
    _sec("XHKG", "02318", "Ping An Insurance (H)", FIN, "CN", "CNE1000003X6"),
    _sec("XHKG", "02628", "China Life Insurance (H)", FIN, "CN", "CNE1000002L3"),
    _sec("XHKG", "00883", "CNOOC", ENERGY, "CN", "HK0883013259"),
    _sec("XHKG", "00857", "PetroChina (H)", ENERGY, "CN", "CNE1000003W8"),
    _sec("XHKG", "00669", "Techtronic Industries", IND, "HK", "HK0669013440"),
    _sec("XHKG", "00016", "Sun Hung Kai Properties", RE, "HK", "HK0016000132"),
    _sec("XHKG", "00001", "CK Hutchison Holdings", IND, "HK", "KYG217651051"),
    _sec("XHKG", "00011", "Hang Seng Bank", FIN, "HK", "HK0011000095"),
    _sec("XHKG", "00002", "CLP Holdings", UTIL, "HK", "HK0002007356"),
    _sec("XHKG", "00003", "Hong Kong and China Gas", UTIL, "HK", "HK0003000038"),
    _sec("XHKG", "00823", "Link Real Estate Investment Trust", RE, "HK", "HK0823032773"),
    _sec("XHKG", "00027", "Galaxy Entertainment Group", DISC, "HK", "HK0027032686"),
    _sec("XHKG", "02020", "ANTA Sports Products", DISC, "CN", "KYG040111059"),
    _sec("XHKG", "09992", "Pop Mart International", DISC, "CN"),
    # Hong Kong: health care and biotech
    _sec("XHKG", "02269", "WuXi Biologics (Cayman)", HEALTH, "CN", "KYG970081173"),
    _sec("XHKG", "01801", "Innovent Biologics", HEALTH, "CN", "KYG4818G1010"),
    _sec("XHKG", "06160", "BeOne Medicines (formerly BeiGene)", HEALTH, "CN"),
    _sec("XHKG", "02359", "WuXi AppTec (H)", HEALTH, "CN", "CNE100003F19"),
    _sec("XHKG", "09926", "Akeso", HEALTH, "CN"),
    _sec("XHKG", "01177", "Sino Biopharmaceutical", HEALTH, "CN", "KYG8167W1380"),
    _sec("XHKG", "01093", "CSPC Pharmaceutical Group", HEALTH, "CN", "HK1093012172"),
    _sec("XHKG", "03692", "Hansoh Pharmaceutical Group", HEALTH, "CN", "KYG549581067"),
    _sec("XHKG", "01530", "3SBio", HEALTH, "CN", "KYG8875G1029"),
    _sec("XHKG", "06990", "Sichuan Kelun-Biotech Biopharmaceutical (H)", HEALTH, "CN"),
    _sec("XHKG", "09995", "RemeGen (H)", HEALTH, "CN"),
    _sec("XHKG", "09969", "InnoCare Pharma", HEALTH, "CN"),
    _sec("XHKG", "09688", "Zai Lab", HEALTH, "CN"),
    _sec("XHKG", "01548", "GenScript Biotech", HEALTH, "CN", "KYG3825B1059"),
    _sec("XHKG", "06185", "CanSino Biologics (H)", HEALTH, "CN"),
    _sec("XHKG", "00013", "HUTCHMED (China)", HEALTH, "CN"),
    _sec("XHKG", "02616", "CStone Pharmaceuticals", HEALTH, "CN"),
    _sec("XHKG", "01877", "Shanghai Junshi Biosciences (H)", HEALTH, "CN"),
    _sec("XHKG", "06855", "Ascentage Pharma Group", HEALTH, "CN"),
    _sec("XHKG", "02142", "HBM Holdings", HEALTH, "CN"),
    # Mainland A-shares
    _sec("XSHG", "600519", "Kweichow Moutai", STAP, "CN", "CNE0000018R8"),
    _sec("XSHE", "300750", "Contemporary Amperex Technology (CATL)", IND, "CN", "CNE100003662"),
    _sec("XSHG", "600036", "China Merchants Bank", FIN, "CN", "CNE000001B33"),
    _sec("XSHG", "601318", "Ping An Insurance (A)", FIN, "CN", "CNE000001R84"),
    _sec("XSHE", "000333", "Midea Group", DISC, "CN", "CNE100001QQ5"),
    _sec("XSHE", "002594", "BYD Company (A)", DISC, "CN", "CNE100001526"),
    _sec("XSHE", "000858", "Wuliangye Yibin", STAP, "CN", "CNE000000VQ8"),
    _sec("XSHG", "601398", "Industrial and Commercial Bank of China (A)", FIN, "CN", "CNE000001P37"),
    _sec("XSHG", "601899", "Zijin Mining Group", MAT, "CN", "CNE100000502"),
    _sec("XSHG", "600900", "China Yangtze Power", UTIL, "CN", "CNE000001G87"),
    _sec("XSHE", "300059", "East Money Information", FIN, "CN", "CNE100000MD4"),
    _sec("XSHG", "601166", "Industrial Bank", FIN, "CN", "CNE000001QZ7"),
    _sec("XSHE", "002475", "Luxshare Precision Industry", IT, "CN", "CNE100000TP3"),
    _sec("XSHG", "601138", "Foxconn Industrial Internet", IT, "CN", "CNE1000031P3"),
    _sec("XSHG", "600276", "Jiangsu Hengrui Pharmaceuticals", HEALTH, "CN", "CNE0000014W7"),
    _sec("XSHE", "300760", "Shenzhen Mindray Bio-Medical Electronics", HEALTH, "CN", "CNE100003G67"),
    _sec("XSHG", "601288", "Agricultural Bank of China (A)", FIN, "CN", "CNE100000RJ0"),
    _sec("XSHG", "601088", "China Shenhua Energy (A)", ENERGY, "CN", "CNE1000002R0"),
    _sec("XSHG", "600030", "CITIC Securities", FIN, "CN", "CNE000001DB6"),
    _sec("XSHG", "600887", "Inner Mongolia Yili Industrial Group", STAP, "CN", "CNE000000JP5"),
    _sec("XSHE", "000651", "Gree Electric Appliances", DISC, "CN", "CNE0000001D4"),
    _sec("XSHG", "600309", "Wanhua Chemical Group", MAT, "CN", "CNE0000016J9"),
    _sec("XSHG", "688981", "Semiconductor Manufacturing International (A)", IT, "CN"),
    _sec("XSHG", "688256", "Cambricon Technologies", IT, "CN"),
    _sec("XSHE", "300274", "Sungrow Power Supply", IND, "CN"),
)


# --------------------------------------------------------------------------------------------------
# Memberships (illustrative weights; real constituents and real review dates)

_KRX_SEMI_BASE: tuple[tuple[str, float], ...] = (
    ("XKRX:005930", 330),
    ("XKRX:000660", 150),
    ("XTAI:2330", 900),
    ("XNAS:NVDA", 3500),
    ("XNAS:AVGO", 1100),
    ("XNAS:AMD", 250),
    ("XNAS:MU", 130),
    ("XNAS:QCOM", 170),
    ("XNAS:INTC", 100),
    ("XNAS:TXN", 160),
    ("XNAS:ASML", 280),
    ("XTKS:8035", 90),
    ("XTKS:6857", 60),
    ("XHKG:00981", 70),
    ("XHKG:01347", 15),
    ("XKRX:042700", 8),
    ("XKRX:009150", 9),
    ("XKRX:402340", 15),
    ("XKRX:011070", 5),
    ("XKRX:000990", 2),
)

_TECH_US_BASE: tuple[tuple[str, float], ...] = (
    ("XNAS:NVDA", 4300),
    ("XNAS:AAPL", 3800),
    ("XNAS:MSFT", 3600),
    ("XNAS:AVGO", 1500),
    ("XNAS:AMZN", 2300),
    ("XNAS:GOOGL", 2600),
    ("XNAS:META", 1800),
    ("XNAS:TSLA", 1300),
    ("XNAS:AMD", 350),
    ("XNAS:QCOM", 180),
    ("XNAS:MU", 200),
    ("XNAS:NFLX", 450),
    ("XNAS:ASML", 300),
    ("XNAS:CSCO", 270),
    ("XNAS:ADBE", 150),
    ("XNAS:TXN", 160),
    ("XHKG:00700", 700),
    ("XHKG:09988", 350),
    ("XHKG:03690", 90),
    ("XHKG:01810", 150),
    ("XHKG:00981", 70),
    ("XHKG:01211", 130),
    ("XHKG:09618", 50),
    ("XHKG:09999", 80),
    ("XHKG:01024", 40),
    ("XHKG:02015", 25),
    ("XKRX:000660", 200),
)

_TECH100_BASE: tuple[tuple[str, float], ...] = (
    ("XHKG:00700", 700),
    ("XHKG:09988", 350),
    ("XHKG:03690", 90),
    ("XHKG:01810", 160),
    ("XHKG:00981", 70),
    ("XHKG:01347", 15),
    ("XHKG:01211", 130),
    ("XHKG:09618", 50),
    ("XHKG:09999", 80),
    ("XHKG:09888", 35),
    ("XHKG:01024", 40),
    ("XHKG:02015", 25),
    ("XHKG:09868", 20),
    ("XHKG:09866", 12),
    ("XHKG:09863", 12),
    ("XHKG:09961", 45),
    ("XHKG:00992", 17),
    ("XHKG:02382", 10),
    ("XHKG:00268", 7),
    ("XHKG:00285", 10),
    ("XHKG:00020", 8),
    ("XHKG:02018", 6),
    ("XHKG:03888", 6),
    ("XHKG:09660", 12),
    ("XHKG:03750", 45),
    ("XHKG:00175", 25),
    ("XHKG:02269", 18),
    ("XHKG:01801", 20),
    ("XHKG:06160", 35),
    ("XHKG:02359", 35),
    ("XHKG:09926", 14),
    ("XHKG:01177", 15),
    ("XHKG:01093", 14),
    ("XHKG:03692", 28),
    ("XHKG:01530", 8),
    ("XHKG:06618", 12),
    ("XHKG:00241", 10),
    ("XHKG:00669", 22),
)

_HSI_BASE: tuple[tuple[str, float], ...] = (
    ("XHKG:00700", 470),
    ("XHKG:09988", 200),
    ("XHKG:00005", 190),
    ("XHKG:01299", 90),
    ("XHKG:00941", 210),
    ("XHKG:03690", 110),
    ("XHKG:00388", 48),
    ("XHKG:01810", 60),
    ("XHKG:00939", 160),
    ("XHKG:01398", 230),
    ("XHKG:03988", 130),
    ("XHKG:02318", 110),
    ("XHKG:09618", 45),
    ("XHKG:01211", 95),
    ("XHKG:00883", 80),
    ("XHKG:00857", 130),
    ("XHKG:09999", 60),
    ("XHKG:09888", 38),
    ("XHKG:01024", 28),
    ("XHKG:02015", 28),
    ("XHKG:00669", 23),
    ("XHKG:00016", 30),
    ("XHKG:00001", 22),
    ("XHKG:00011", 25),
    ("XHKG:00002", 20),
    ("XHKG:00003", 15),
    ("XHKG:00823", 12),
    ("XHKG:00027", 18),
    ("XHKG:02628", 100),
    ("XHKG:02020", 30),
    ("XHKG:00175", 18),
    ("XHKG:00992", 15),
    ("XHKG:02269", 10),
    ("XHKG:01093", 10),
    ("XHKG:01177", 10),
)

_HSTECH_BASE: tuple[tuple[str, float], ...] = (
    ("XHKG:00700", 470),
    ("XHKG:09988", 200),
    ("XHKG:03690", 110),
    ("XHKG:01810", 60),
    ("XHKG:00981", 30),
    ("XHKG:01211", 95),
    ("XHKG:09618", 45),
    ("XHKG:09999", 60),
    ("XHKG:09888", 38),
    ("XHKG:01024", 28),
    ("XHKG:02015", 28),
    ("XHKG:09868", 10),
    ("XHKG:09866", 12),
    ("XHKG:09961", 35),
    ("XHKG:00992", 15),
    ("XHKG:02382", 8),
    ("XHKG:00268", 4),
    ("XHKG:01347", 4),
    ("XHKG:00241", 7),
    ("XHKG:06618", 12),
    ("XHKG:09626", 7),
    ("XHKG:06690", 30),
    ("XHKG:00285", 8),
    ("XHKG:00020", 5),
    ("XHKG:00780", 5),
    ("XHKG:01833", 3),
    ("XHKG:06060", 3),
    ("XHKG:00772", 3),
    ("XHKG:02018", 4),
    ("XHKG:03888", 4),
)

_HSBIO_BASE: tuple[tuple[str, float], ...] = (
    ("XHKG:02269", 18),
    ("XHKG:01801", 12),
    ("XHKG:06160", 25),
    ("XHKG:02359", 25),
    ("XHKG:09926", 8),
    ("XHKG:01177", 11),
    ("XHKG:01093", 12),
    ("XHKG:03692", 15),
    ("XHKG:01530", 3),
    ("XHKG:06990", 5),
    ("XHKG:09995", 2),
    ("XHKG:09969", 2),
    ("XHKG:09688", 3),
    ("XHKG:01548", 4),
    ("XHKG:06185", 1),
    ("XHKG:00013", 3),
    ("XHKG:02616", 1),
    ("XHKG:01877", 3),
    ("XHKG:06855", 2),
    ("XHKG:02142", 1),
)

_CSI300_BASE: tuple[tuple[str, float], ...] = (
    ("XSHG:600519", 160),
    ("XSHE:300750", 150),
    ("XSHG:600036", 120),
    ("XSHG:601318", 110),
    ("XSHE:000333", 70),
    ("XSHE:002594", 100),
    ("XSHE:000858", 75),
    ("XSHG:601398", 60),
    ("XSHG:601899", 55),
    ("XSHG:600900", 85),
    ("XSHE:300059", 40),
    ("XSHG:601166", 45),
    ("XSHE:002475", 35),
    ("XSHG:601138", 55),
    ("XSHG:600276", 45),
    ("XSHE:300760", 45),
    ("XSHG:601288", 40),
    ("XSHG:601088", 40),
    ("XSHG:600030", 45),
    ("XSHG:600887", 30),
    ("XSHE:000651", 30),
    ("XSHG:600309", 30),
    ("XSHG:688981", 25),
)


def _memberships() -> tuple[MembershipRef, ...]:
    rows: list[MembershipRef] = []
    rows += membership_history(
        "HKEX-KRX-SEMI",
        Decimal("10"),
        _KRX_SEMI_BASE,
        date(2026, 4, 13),
        [Rebalance(date(2026, 9, 14), add=(("XKOS:058470", 4),), remove=("XKRX:000990",))],
    )
    rows += membership_history(
        "HKEX-TECH-USTECH100",
        Decimal("10"),
        _TECH_US_BASE,
        date(2026, 4, 13),
        [Rebalance(date(2026, 9, 14), add=(("XKRX:005930", 300),), remove=("XNAS:ADBE",))],
    )
    rows += membership_history(
        "HKEX-TECH100",
        Decimal("12"),
        _TECH100_BASE,
        date(2025, 12, 9),
        [
            Rebalance(date(2026, 3, 9)),
            Rebalance(
                date(2026, 6, 8),
                add=(("XHKG:09626", 7), ("XHKG:00780", 5)),
                remove=("XHKG:02018", "XHKG:00669"),
            ),
        ],
    )
    rows += membership_history(
        "HSI",
        Decimal("8"),
        _HSI_BASE,
        date(2023, 12, 4),
        [
            Rebalance(
                date(2025, 12, 8),
                add=(("XHKG:00981", 45), ("XHKG:09992", 30)),
                remove=("XHKG:00003",),
            ),
            Rebalance(date(2026, 3, 9), add=(("XHKG:01801", 15),), remove=("XHKG:00823",)),
        ],
    )
    rows += membership_history(
        "HSTECH",
        Decimal("8"),
        _HSTECH_BASE,
        date(2023, 12, 4),
        [
            Rebalance(date(2025, 12, 8), add=(("XHKG:09863", 10),), remove=("XHKG:00772",)),
            Rebalance(date(2026, 3, 9), add=(("XHKG:09660", 12),), remove=("XHKG:01833",)),
        ],
    )
    rows += membership_history(
        "HSBIO",
        Decimal("10"),  # the real cap is not in our sources; the column stays NULL
        _HSBIO_BASE,
        date(2023, 12, 4),
        [Rebalance(date(2025, 9, 8), remove=("XHKG:02142", "XHKG:02616"))],
    )
    rows += membership_history(
        "CSI300",
        None,
        _CSI300_BASE,
        date(2023, 12, 11),
        [
            Rebalance(date(2025, 6, 16), add=(("XSHG:688256", 30),)),
            Rebalance(date(2025, 12, 15), add=(("XSHE:300274", 20),), remove=("XSHE:000651",)),
        ],
    )
    return tuple(rows)


MEMBERSHIPS: tuple[MembershipRef, ...] = _memberships()

# Hang Seng changes take effect on the Monday after the first Friday of Mar/Jun/Sep/Dec.
REBALANCE_DATES: Mapping[str, tuple[date, ...]] = {
    "HSI": (date(2025, 12, 8), date(2026, 3, 9)),
    "HSTECH": (date(2025, 12, 8), date(2026, 3, 9)),
    "HSBIO": (date(2025, 9, 8),),
    "CSI300": (date(2025, 6, 16), date(2025, 12, 15)),
    "HKEX-TECH100": (date(2026, 3, 9), date(2026, 6, 8)),
    "HKEX-KRX-SEMI": (date(2026, 9, 14),),
    "HKEX-TECH-USTECH100": (date(2026, 9, 14),),
}


# --------------------------------------------------------------------------------------------------
# Asset managers and licences

MANAGERS: tuple[ManagerRef, ...] = (
    ManagerRef(
        "hang-seng-investment",
        "Hang Seng Investment Management Limited",
        "Hang Seng Investment",
        "HK",
        "https://www.hangsenginvestment.com",
    ),
    ManagerRef(
        "state-street",
        "State Street Global Advisors Asia Limited",
        "SSGA",
        "US",
        "https://www.ssga.com",
    ),
    ManagerRef("csop", "CSOP Asset Management Limited", "CSOP", "HK", "https://www.csopasset.com"),
    ManagerRef(
        "blackrock",
        "BlackRock Asset Management North Asia Limited",
        "iShares (BlackRock)",
        "US",
        "https://www.blackrock.com/hk",
    ),
    ManagerRef(
        "global-x",
        "Mirae Asset Global Investments (Hong Kong) Limited",
        "Global X ETFs Hong Kong",
        "KR",
        "https://www.globalxetfs.com.hk",
    ),
    ManagerRef(
        "chinaamc",
        "China Asset Management (Hong Kong) Limited",
        "ChinaAMC (HK)",
        "HK",
        "https://www.chinaamc.com.hk",
    ),
    ManagerRef(
        "e-fund",
        "E Fund Management (Hong Kong) Co., Limited",
        "E Fund (HK)",
        "HK",
        "https://www.efunds.com.hk",
    ),
    ManagerRef(
        "harvest",
        "Harvest Global Investments Limited",
        "Harvest Global",
        "HK",
        "https://www.harvestglobal.com.hk",
    ),
    ManagerRef(
        "premia",
        "Premia Partners Company Limited",
        "Premia Partners",
        "HK",
        "https://www.premia-partners.com",
    ),
    ManagerRef(
        "samsung",
        "Samsung Asset Management (Hong Kong) Limited",
        "Samsung AM (HK)",
        "KR",
        "https://www.samsungetf.com.hk",
    ),
    ManagerRef(
        "huatai-pinebridge",
        "Huatai-PineBridge Fund Management Co., Ltd.",
        "Huatai-PineBridge",
        "CN",
        "https://www.huatai-pb.com",
    ),
    ManagerRef(
        "china-asset-management",
        "China Asset Management Co., Ltd.",
        "ChinaAMC",
        "CN",
        "https://www.chinaamc.com",
    ),
    ManagerRef("e-fund-cn", "E Fund Management Co., Ltd.", "E Fund", "CN", "https://www.efunds.com.cn"),
    ManagerRef(
        "harvest-fund",
        "Harvest Fund Management Co., Ltd.",
        "Harvest Fund",
        "CN",
        "https://www.harvestfund.com.cn",
    ),
    ManagerRef(
        "fullgoal",
        "Fullgoal Fund Management Co., Ltd.",
        "Fullgoal",
        "CN",
        "https://www.fullgoal.com.cn",
    ),
)

ILLUSTRATIVE_LICENSEES = "illustrative: the licensees' names are not published in our sources"
_APPROX_DATE = "licensed_on approximated by the first product's listing date"
_APRIL_2026 = date(2026, 4, 13)

LICENCES: tuple[LicenceRef, ...] = (
    # The two April-2026 indices: five licensees each, names illustrative.
    LicenceRef("HKEX-KRX-SEMI", "samsung", _APRIL_2026, "PRODUCT_LAUNCHED", True, ILLUSTRATIVE_LICENSEES),
    LicenceRef("HKEX-KRX-SEMI", "csop", _APRIL_2026, "PRODUCT_LAUNCHED", True, ILLUSTRATIVE_LICENSEES),
    LicenceRef("HKEX-KRX-SEMI", "global-x", _APRIL_2026, "SIGNED", True, ILLUSTRATIVE_LICENSEES),
    LicenceRef("HKEX-KRX-SEMI", "premia", _APRIL_2026, "SIGNED", True, ILLUSTRATIVE_LICENSEES),
    LicenceRef("HKEX-KRX-SEMI", "chinaamc", _APRIL_2026, "LAPSED", True, ILLUSTRATIVE_LICENSEES),
    LicenceRef("HKEX-TECH-USTECH100", "csop", _APRIL_2026, "PRODUCT_LAUNCHED", True, ILLUSTRATIVE_LICENSEES),
    LicenceRef(
        "HKEX-TECH-USTECH100",
        "hang-seng-investment",
        _APRIL_2026,
        "PRODUCT_LAUNCHED",
        True,
        ILLUSTRATIVE_LICENSEES,
    ),
    LicenceRef("HKEX-TECH-USTECH100", "harvest", _APRIL_2026, "SIGNED", True, ILLUSTRATIVE_LICENSEES),
    LicenceRef("HKEX-TECH-USTECH100", "e-fund", _APRIL_2026, "SIGNED", True, ILLUSTRATIVE_LICENSEES),
    LicenceRef("HKEX-TECH-USTECH100", "blackrock", _APRIL_2026, "SIGNED", True, ILLUSTRATIVE_LICENSEES),
    # HKEX Tech 100: licensed to E Fund for a mainland ETF (announced 9 Dec 2025).
    LicenceRef(
        "HKEX-TECH100",
        "e-fund-cn",
        date(2025, 12, 9),
        "PRODUCT_LAUNCHED",
        False,
        "Licensed to E Fund for a mainland ETF (announced 9 Dec 2025)",
    ),
    # Hang Seng indices and CSI 300: the real trackers' managers.
    LicenceRef(
        "HSI",
        "hang-seng-investment",
        date(2004, 9, 23),
        "PRODUCT_LAUNCHED",
        False,
        "Manager of the Tracker Fund of Hong Kong since 19 Sep 2022; " + _APPROX_DATE,
    ),
    LicenceRef(
        "HSI",
        "state-street",
        date(1999, 11, 12),
        "LAPSED",
        False,
        "Managed the Tracker Fund of Hong Kong until 19 Sep 2022",
    ),
    LicenceRef("HSI", "csop", date(2019, 4, 9), "PRODUCT_LAUNCHED", False, _APPROX_DATE),
    LicenceRef("HSTECH", "csop", date(2020, 8, 28), "PRODUCT_LAUNCHED", False, _APPROX_DATE),
    LicenceRef("HSTECH", "blackrock", date(2020, 9, 18), "PRODUCT_LAUNCHED", False, _APPROX_DATE),
    LicenceRef("HSTECH", "global-x", date(2020, 9, 15), "PRODUCT_LAUNCHED", False, _APPROX_DATE),
    LicenceRef("HSTECH", "hang-seng-investment", date(2020, 9, 16), "PRODUCT_LAUNCHED", False, _APPROX_DATE),
    LicenceRef("HSTECH", "chinaamc", date(2020, 12, 15), "PRODUCT_LAUNCHED", False, _APPROX_DATE),
    LicenceRef(
        "HSTECH",
        "china-asset-management",
        date(2021, 5, 25),
        "PRODUCT_LAUNCHED",
        False,
        _APPROX_DATE,
    ),
    LicenceRef("HSTECH", "e-fund-cn", date(2021, 6, 15), "PRODUCT_LAUNCHED", False, _APPROX_DATE),
    LicenceRef("HSTECH", "huatai-pinebridge", date(2021, 6, 8), "PRODUCT_LAUNCHED", False, _APPROX_DATE),
    LicenceRef(
        "HSBIO",
        "china-asset-management",
        date(2021, 10, 19),
        "PRODUCT_LAUNCHED",
        False,
        _APPROX_DATE,
    ),
    LicenceRef("HSBIO", "fullgoal", date(2025, 12, 1), "PRODUCT_LAUNCHED", False, _APPROX_DATE),
    LicenceRef("CSI300", "chinaamc", date(2012, 7, 17), "PRODUCT_LAUNCHED", False, _APPROX_DATE),
    LicenceRef("CSI300", "blackrock", date(2009, 11, 18), "PRODUCT_LAUNCHED", False, _APPROX_DATE),
    LicenceRef("CSI300", "huatai-pinebridge", date(2012, 5, 28), "PRODUCT_LAUNCHED", False, _APPROX_DATE),
    LicenceRef(
        "CSI300",
        "china-asset-management",
        date(2012, 12, 25),
        "PRODUCT_LAUNCHED",
        False,
        _APPROX_DATE,
    ),
    LicenceRef("CSI300", "e-fund-cn", date(2013, 3, 25), "PRODUCT_LAUNCHED", False, _APPROX_DATE),
    LicenceRef("CSI300", "harvest-fund", date(2012, 5, 28), "PRODUCT_LAUNCHED", False, _APPROX_DATE),
)


# --------------------------------------------------------------------------------------------------
# ETFs, counters and Connect eligibility


def _etf(
    mic: str,
    code: str,
    name_en: str,
    name_zh: str | None,
    issuer: str,
    index: str | None,
    listed: date,
    *,
    base: str = "HKD",
    ocf: str | None = None,
    replication: Replication = "PHYSICAL",
    leverage: str | None = None,
    delisted: date | None = None,
    isin: str | None = None,
    nav: float = 10.0,
    aum: float = 1e9,
) -> EtfRef:
    return EtfRef(
        mic=mic,
        code=code,
        isin=isin,
        name_en=name_en,
        name_zh=name_zh,
        issuer_slug=issuer,
        index_code=index,
        listing_date=listed,
        delisting_date=delisted,
        base_currency=base,
        replication=replication,
        ongoing_charges_pct=Decimal(ocf) if ocf is not None else None,
        leverage_factor=Decimal(leverage) if leverage is not None else None,
        nav_hint=nav,
        aum_hint=aum,
    )


ILLUSTRATIVE_ETF_CODES: tuple[str, ...] = (
    "XHKG:03431",
    "XHKG:03432",
    "XHKG:03433",
    "XHKG:03434",
    "XSHG:520980",
)

ETFS: tuple[EtfRef, ...] = (
    # Hong Kong: Hang Seng Index family
    _etf(
        "XHKG",
        "02800",
        "Tracker Fund of Hong Kong",
        "盈富基金",
        "hang-seng-investment",
        "HSI",
        date(1999, 11, 12),
        ocf="0.0600",
        isin="HK2800008867",
        nav=16.9,
        aum=130e9,
    ),
    _etf(
        "XHKG",
        "02833",
        "Hang Seng Index ETF",
        "恒生指數上市基金",
        "hang-seng-investment",
        "HSI",
        date(2004, 9, 23),
        ocf="0.1000",
        delisted=date(2022, 9, 19),
        nav=19.0,
        aum=1e9,
    ),
    _etf(
        "XHKG",
        "02828",
        "Hang Seng China Enterprises Index ETF",
        "恒生中國企業指數上市基金",
        "hang-seng-investment",
        None,
        date(2003, 12, 10),
        ocf="0.5800",
        nav=57.0,
        aum=25e9,
    ),
    _etf(
        "XHKG",
        "03032",
        "Hang Seng TECH Index ETF",
        "恒生科技指數ETF",
        "hang-seng-investment",
        "HSTECH",
        date(2020, 9, 16),
        ocf="0.4500",
        nav=3.8,
        aum=3e9,
    ),
    _etf(
        "XHKG",
        "03033",
        "CSOP Hang Seng TECH Index ETF",
        "南方東英恒生科技指數ETF",
        "csop",
        "HSTECH",
        date(2020, 8, 28),
        ocf="0.9900",
        nav=3.7,
        aum=12e9,
    ),
    _etf(
        "XHKG",
        "03067",
        "iShares Hang Seng TECH ETF",
        "安碩恒生科技ETF",
        "blackrock",
        "HSTECH",
        date(2020, 9, 18),
        ocf="0.2500",
        nav=9.3,
        aum=10e9,
    ),
    _etf(
        "XHKG",
        "03088",
        "ChinaAMC Hang Seng TECH Index ETF",
        "華夏恒生科技指數ETF",
        "chinaamc",
        "HSTECH",
        date(2020, 12, 15),
        ocf="0.4300",
        nav=3.8,
        aum=1.2e9,
    ),
    _etf(
        "XHKG",
        "02837",
        "Global X Hang Seng TECH ETF",
        "Global X 恒生科技ETF",
        "global-x",
        "HSTECH",
        date(2020, 9, 15),
        ocf="0.6800",
        nav=3.7,
        aum=1.5e9,
    ),
    _etf(
        "XHKG",
        "07226",
        "CSOP Hang Seng TECH Index Daily (2x) Leveraged Product",
        "南方東英恒生科技指數每日槓桿(2x)產品",
        "csop",
        "HSTECH",
        date(2020, 12, 8),
        ocf="1.6000",
        replication="SYNTHETIC",
        leverage="2",
        nav=3.0,
        aum=4e9,
    ),
    _etf(
        "XHKG",
        "07552",
        "CSOP Hang Seng TECH Index Daily (-2x) Inverse Product",
        "南方東英恒生科技指數每日反向(-2x)產品",
        "csop",
        "HSTECH",
        date(2020, 12, 8),
        ocf="1.6000",
        replication="SYNTHETIC",
        leverage="-2",
        nav=6.0,
        aum=2.5e9,
    ),
    _etf(
        "XHKG",
        "07500",
        "CSOP Hang Seng Index Daily (-2x) Inverse Product",
        "南方東英恒生指數每日反向(-2x)產品",
        "csop",
        "HSI",
        date(2019, 4, 9),
        ocf="1.6000",
        replication="SYNTHETIC",
        leverage="-2",
        nav=4.0,
        aum=3e9,
    ),
    # Hong Kong: A-share, thematic and other products
    _etf(
        "XHKG",
        "03188",
        "ChinaAMC CSI 300 Index ETF",
        "華夏滬深三百指數ETF",
        "chinaamc",
        "CSI300",
        date(2012, 7, 17),
        ocf="0.4700",
        nav=37.0,
        aum=9e9,
    ),
    _etf(
        "XHKG",
        "02846",
        "iShares Core CSI 300 ETF",
        "安碩核心滬深300指數ETF",
        "blackrock",
        "CSI300",
        date(2009, 11, 18),
        base="CNY",
        ocf="0.3800",
        nav=27.0,
        aum=1.5e9,
    ),
    _etf(
        "XHKG",
        "03147",
        "CSOP SZSE ChiNext ETF",
        "南方東英深證創業板ETF",
        "csop",
        None,
        date(2015, 5, 18),
        base="CNY",
        ocf="0.9900",
        nav=13.0,
        aum=1.2e9,
    ),
    _etf(
        "XHKG",
        "02822",
        "CSOP FTSE China A50 ETF",
        "南方東英富時中國A50 ETF",
        "csop",
        None,
        date(2012, 8, 28),
        base="CNY",
        ocf="0.9800",
        nav=11.5,
        aum=15e9,
    ),
    _etf(
        "XHKG",
        "03110",
        "Global X Hang Seng High Dividend Yield ETF",
        "Global X 恒生高股息率ETF",
        "global-x",
        None,
        date(2020, 7, 7),
        ocf="0.6800",
        nav=11.0,
        aum=0.8e9,
    ),
    _etf(
        "XHKG",
        "03069",
        "ChinaAMC Hang Seng Hong Kong Biotech Index ETF",
        "華夏恒生香港生物科技指數ETF",
        "chinaamc",
        None,
        date(2021, 3, 18),
        ocf="0.6000",
        nav=3.5,
        aum=0.6e9,
    ),
    _etf(
        "XHKG",
        "02840",
        "SPDR Gold Trust",
        "SPDR金ETF",
        "state-street",
        None,
        date(2008, 10, 31),
        base="USD",
        ocf="0.4000",
        nav=190.0,
        aum=58e9,
    ),
    _etf(
        "XHKG",
        "02801",
        "iShares Core MSCI China ETF",
        "安碩核心MSCI中國指數ETF",
        "blackrock",
        None,
        date(2001, 11, 28),
        ocf="0.1900",
        nav=15.0,
        aum=8e9,
    ),
    _etf(
        "XHKG",
        "02834",
        "iShares NASDAQ 100 ETF",
        "安碩納斯達克100指數ETF",
        "blackrock",
        None,
        date(2016, 11, 29),
        base="USD",
        ocf="0.2500",
        nav=20.0,
        aum=0.5e9,
    ),
    _etf(
        "XHKG",
        "02814",
        "Samsung NYSE FANG+ ETF",
        "三星NYSE FANG+ ETF",
        "samsung",
        None,
        date(2018, 12, 13),
        base="USD",
        ocf="0.9900",
        nav=6.0,
        aum=0.3e9,
    ),
    _etf(
        "XHKG",
        "03173",
        "Premia CSI Caixin China New Economy ETF",
        "Premia 中證財新中國新經濟ETF",
        "premia",
        None,
        date(2017, 5, 26),
        ocf="0.5000",
        nav=10.0,
        aum=0.2e9,
    ),
    _etf(
        "XHKG",
        "03053",
        "CSOP Hong Kong Dollar Money Market ETF",
        "南方東英港元貨幣市場ETF",
        "csop",
        None,
        date(2022, 3, 29),
        ocf="0.2000",
        nav=105.0,
        aum=15e9,
    ),
    # Products on the April-2026 HKEX indices: illustrative (the licensees are not published).
    _etf(
        "XHKG",
        "03431",
        "Samsung HKEX KRX Semiconductor Index ETF (illustrative)",
        "三星港交所韓交所半導體指數ETF(示例)",
        "samsung",
        "HKEX-KRX-SEMI",
        date(2026, 6, 15),
        ocf="0.6500",
        nav=10.0,
        aum=0.4e9,
    ),
    _etf(
        "XHKG",
        "03432",
        "CSOP HKEX KRX Semiconductor Index ETF (illustrative)",
        "南方東英港交所韓交所半導體指數ETF(示例)",
        "csop",
        "HKEX-KRX-SEMI",
        date(2026, 7, 6),
        ocf="0.6800",
        nav=8.0,
        aum=0.6e9,
    ),
    _etf(
        "XHKG",
        "03433",
        "CSOP HKEX Tech & US Tech 100 Index ETF (illustrative)",
        "南方東英港交所科技及美國科技100指數ETF(示例)",
        "csop",
        "HKEX-TECH-USTECH100",
        date(2026, 6, 22),
        ocf="0.6000",
        nav=8.0,
        aum=0.5e9,
    ),
    _etf(
        "XHKG",
        "03434",
        "Hang Seng HKEX Tech & US Tech 100 Index ETF (illustrative)",
        "恒生港交所科技及美國科技100指數ETF(示例)",
        "hang-seng-investment",
        "HKEX-TECH-USTECH100",
        date(2026, 8, 3),
        ocf="0.5500",
        nav=10.0,
        aum=0.3e9,
    ),
    # Mainland ETFs (northbound ETF Connect and mainland ETFs tracking Hong Kong indices)
    _etf(
        "XSHG",
        "510300",
        "Huatai-PineBridge CSI 300 ETF",
        "华泰柏瑞沪深300ETF",
        "huatai-pinebridge",
        "CSI300",
        date(2012, 5, 28),
        base="CNY",
        ocf="0.2000",
        nav=3.5,
        aum=180e9,
    ),
    _etf(
        "XSHG",
        "510330",
        "ChinaAMC CSI 300 ETF",
        "华夏沪深300ETF",
        "china-asset-management",
        "CSI300",
        date(2012, 12, 25),
        base="CNY",
        ocf="0.2000",
        nav=3.6,
        aum=60e9,
    ),
    _etf(
        "XSHG",
        "510310",
        "E Fund CSI 300 ETF",
        "易方达沪深300ETF",
        "e-fund-cn",
        "CSI300",
        date(2013, 3, 25),
        base="CNY",
        ocf="0.2000",
        nav=1.7,
        aum=50e9,
    ),
    _etf(
        "XSHE",
        "159919",
        "Harvest CSI 300 ETF",
        "嘉实沪深300ETF",
        "harvest-fund",
        "CSI300",
        date(2012, 5, 28),
        base="CNY",
        ocf="0.2000",
        nav=3.6,
        aum=40e9,
    ),
    _etf(
        "XSHG",
        "588000",
        "ChinaAMC SSE STAR 50 ETF",
        "华夏上证科创板50成份ETF",
        "china-asset-management",
        None,
        date(2020, 11, 16),
        base="CNY",
        ocf="0.6000",
        nav=0.9,
        aum=60e9,
    ),
    _etf(
        "XSHE",
        "159915",
        "E Fund ChiNext ETF",
        "易方达创业板ETF",
        "e-fund-cn",
        None,
        date(2011, 12, 9),
        base="CNY",
        ocf="0.2000",
        nav=1.9,
        aum=30e9,
    ),
    _etf(
        "XSHG",
        "513010",
        "E Fund Hang Seng TECH ETF (QDII)",
        "易方达恒生科技ETF(QDII)",
        "e-fund-cn",
        "HSTECH",
        date(2021, 6, 15),
        base="CNY",
        ocf="0.6000",
        nav=0.55,
        aum=15e9,
    ),
    _etf(
        "XSHG",
        "513180",
        "ChinaAMC Hang Seng TECH ETF (QDII)",
        "华夏恒生科技ETF(QDII)",
        "china-asset-management",
        "HSTECH",
        date(2021, 5, 25),
        base="CNY",
        ocf="0.6000",
        nav=0.5,
        aum=25e9,
    ),
    _etf(
        "XSHG",
        "513130",
        "Huatai-PineBridge Hang Seng TECH ETF (QDII)",
        "华泰柏瑞恒生科技ETF(QDII)",
        "huatai-pinebridge",
        "HSTECH",
        date(2021, 6, 8),
        base="CNY",
        ocf="0.6000",
        nav=0.5,
        aum=20e9,
    ),
    _etf(
        "XSHE",
        "159892",
        "ChinaAMC Hang Seng Biotech ETF (QDII)",
        "华夏恒生生物科技ETF(QDII)",
        "china-asset-management",
        "HSBIO",
        date(2021, 10, 19),
        base="CNY",
        ocf="0.6000",
        nav=0.45,
        aum=3e9,
    ),
    _etf(
        "XSHE",
        "159132",
        "Fullgoal Hang Seng Biotech ETF",
        "富国恒生生物科技ETF",
        "fullgoal",
        "HSBIO",
        date(2025, 12, 22),
        base="CNY",
        ocf="0.6000",
        nav=1.0,
        aum=0.8e9,
    ),
    _etf(
        "XSHG",
        "520980",
        "E Fund HKEX Tech 100 ETF (illustrative code)",
        "易方达港交所科技100ETF",
        "e-fund-cn",
        "HKEX-TECH100",
        date(2026, 1, 20),
        base="CNY",
        ocf="0.5000",
        nav=1.0,
        aum=2e9,
    ),
)


def _counters() -> tuple[CounterRef, ...]:
    rows = [CounterRef(e.key, e.mic, e.code, MIC_CURRENCY[e.mic], True) for e in ETFS]
    extra = (
        ("XHKG:02800", "82800", "CNY"),
        ("XHKG:03033", "83033", "CNY"),
        ("XHKG:03067", "09067", "USD"),
        ("XHKG:03188", "83188", "CNY"),
        ("XHKG:02846", "82846", "CNY"),
        ("XHKG:03147", "83147", "CNY"),
        ("XHKG:02822", "82822", "CNY"),
        ("XHKG:03069", "09069", "USD"),
        ("XHKG:03069", "83069", "CNY"),
        ("XHKG:02840", "09840", "USD"),
    )
    rows += [CounterRef(key, "XHKG", code, ccy, False) for key, code, ccy in extra]
    return tuple(rows)


COUNTERS: tuple[CounterRef, ...] = _counters()

ETF_CONNECT_LAUNCH = date(2022, 7, 4)
ETF_CONNECT_WIDENED = date(2024, 7, 22)
_LAUNCH = "ETF Connect launch"
_WIDENED = "Widened eligibility criteria effective 2024-07-22"
_BOTH: tuple[Channel, ...] = ("SHANGHAI", "SHENZHEN")


def _southbound(
    key: str,
    start: date,
    reason: str,
    end: date | None = None,
    status: EligibilityStatus = "ELIGIBLE",
) -> list[EligibilityRef]:
    return [EligibilityRef(key, "SOUTHBOUND", ch, status, start, end, reason) for ch in _BOTH]


def _eligibility() -> tuple[EligibilityRef, ...]:
    rows: list[EligibilityRef] = []
    for key in ("XHKG:02800", "XHKG:02828", "XHKG:03033", "XHKG:03067"):
        rows += _southbound(key, ETF_CONNECT_LAUNCH, _LAUNCH)
    for key in ("XHKG:03032", "XHKG:03088", "XHKG:03188", "XHKG:02822"):
        rows += _southbound(key, ETF_CONNECT_WIDENED, _WIDENED)
    # Removed at a periodic review, then re-added: two non-overlapping periods.
    rows += _southbound("XHKG:03110", ETF_CONNECT_WIDENED, _WIDENED, date(2025, 3, 10))
    rows += _southbound(
        "XHKG:03110",
        date(2025, 9, 8),
        "Re-added: six-month average daily AUM back above HK$550m at periodic review",
    )
    # Moved to the special (sell-only) list, then restored.
    rows += _southbound("XHKG:02837", ETF_CONNECT_WIDENED, _WIDENED, date(2025, 6, 9))
    rows += _southbound(
        "XHKG:02837",
        date(2025, 6, 9),
        "Transferred to the special list (sell-only): average daily AUM below HK$450m at periodic review",
        date(2025, 9, 8),
        "SELL_ONLY",
    )
    rows += _southbound("XHKG:02837", date(2025, 9, 8), "Restored to the eligible list at periodic review")
    # Northbound: A-share ETFs, on the link of their own exchange (no QDII, synthetic or L&I products).
    for key, channel in (
        ("XSHG:510300", "SHANGHAI"),
        ("XSHG:510330", "SHANGHAI"),
        ("XSHG:510310", "SHANGHAI"),
        ("XSHG:588000", "SHANGHAI"),
        ("XSHE:159919", "SHENZHEN"),
        ("XSHE:159915", "SHENZHEN"),
    ):
        ch: Channel = "SHANGHAI" if channel == "SHANGHAI" else "SHENZHEN"
        rows.append(EligibilityRef(key, "NORTHBOUND", ch, "ELIGIBLE", ETF_CONNECT_LAUNCH, None, _LAUNCH))
    return tuple(rows)


ELIGIBILITY: tuple[EligibilityRef, ...] = _eligibility()

DEMO_REFERENCE = Reference(
    indices=INDICES,
    securities=SECURITIES,
    memberships=MEMBERSHIPS,
    managers=MANAGERS,
    licences=LICENCES,
    etfs=ETFS,
    counters=COUNTERS,
    eligibility=ELIGIBILITY,
)


def datasets(seed: int) -> tuple[DatasetRef, ...]:
    """The ``datasets`` rows: where each part of the demo comes from and whether it is illustrative."""
    generated = f"generated by connectgraph demo (seed {seed}); illustrative, not market data"
    curated = "curated by connectgraph from public sources (exchange and issuer websites, HKEX notices)"
    return (
        DatasetRef(
            "indices",
            "Indices with provider, base, launch and methodology facts; the two April-2026 HKEX "
            "indices carry illustrative methodology (is_illustrative).",
            curated,
            False,
        ),
        DatasetRef(
            "securities",
            "Real constituents by exchange MIC and local code; ISINs only where known with confidence.",
            curated,
            False,
        ),
        DatasetRef(
            "memberships",
            "Real constituents (a subset per index) with illustrative weights normalised to 100% "
            "within each index's cap; real review dates (e.g. HSI/HSTECH on 2025-12-08 and "
            "2026-03-09).",
            "curated constituents; weights " + generated,
            True,
        ),
        DatasetRef("managers", "Hong Kong and mainland ETF issuers.", curated, False),
        DatasetRef(
            "licences",
            "Index licences: real trackers' managers; the five licensees of each April-2026 HKEX "
            "index are illustrative (is_illustrative).",
            curated,
            False,
        ),
        DatasetRef(
            "etfs",
            "Real Hong Kong and mainland ETFs with their counters; products on the April-2026 HKEX "
            "indices and the code of E Fund's HKEX Tech 100 ETF are illustrative ("
            + ", ".join(ILLUSTRATIVE_ETF_CODES)
            + ").",
            curated,
            False,
        ),
        DatasetRef(
            "eligibility",
            "ETF Connect eligibility periods (launch 2022-07-04, widened 2024-07-22); removals, "
            "sell-only transfers and re-additions after 2024 are illustrative.",
            curated,
            True,
        ),
        DatasetRef(
            "calendar",
            "XHKG and XSHG days with public holidays and Hong Kong half days; Connect exceptions for "
            "mainland make-up working days.",
            curated,
            False,
        ),
        DatasetRef(
            "connect-daily",
            "Daily Stock Connect turnover, net buying and quotas.",
            generated,
            True,
        ),
        DatasetRef(
            "etf-daily",
            "Daily NAV, close, units, AUM, creations and turnover.",
            generated,
            True,
        ),
        DatasetRef("index-levels", "Daily index levels.", generated, True),
        DatasetRef("fx", "Daily USD/HKD, CNY/HKD, KRW/HKD and USD/CNY.", generated, True),
    )
