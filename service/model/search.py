"""One search across ETFs, indices, securities and managers, ranked by how codes and names match the text.

Scores, in bands (a better kind of match always ranks first; ADR 0015):
  1.0        a code exactly, in any form (``03033``, ``3033``, ``XHKG:03033``, ``3033.HK``, a counter such
             as ``82800``, an ISIN, an index code, a manager's slug)
  0.95       a whole name (English or Chinese, either script), case-insensitive
  0.8 - 0.9  a name starting with the text, more the more of the name it covers
  0.6 - 0.8  a name containing the text, likewise
  0.2 - 0.6  a name resembling the text (typos: pg_trgm's ``<%``, word similarity at least
             ``pg_trgm.word_similarity_threshold``, 0.6 by default; Latin text with a letter and three
             letters or digits or more), more the more of the name it covers
Ties: kind (ETF, index, security, manager), then the shorter name, then the code.

Each kind's rows are found first by conditions its indexes serve (codes, ISIN, ``ILIKE`` and ``<%`` on
the trigram indexes of migration 0020), and only those are scored: word similarity costs some 25 us a
name, too much for every row of a large catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.auth.scopes import READ_REFERENCE
from service.errors import BadInput
from service.model.common import DECIMAL, STRING, like_pattern
from service.model.declare import Arg, Column, Context, Entity, OrderKey, Relation, Root, RootKind
from service.model.enums import SEARCH_KIND, SEARCH_MATCH
from service.search_text import both_scripts, code_forms

MAX_TEXT = 100
MIN_FUZZY = 3  # typed letters or digits before resemblance counts

KINDS = tuple(value.name for value in SEARCH_KIND.values)


def _name_score(column: str) -> str:
    """The score of a name column against the text (null: no match); see the module docstring."""
    ratio = f"least(1.0, char_length({{text}}) / greatest(char_length({column}), 1)::numeric)"
    return f"""CASE WHEN {column} IS NULL THEN NULL
             WHEN lower({column}) = ANY({{exact}}) THEN 0.95
             WHEN {column} ILIKE ANY({{prefixes}}) THEN 0.8 + 0.1 * {ratio}
             WHEN {column} ILIKE ANY({{contains}}) THEN 0.6 + 0.2 * {ratio}
             WHEN {{fuzzy}} AND {{text}} <% {column}
                  THEN 0.6 * word_similarity({{text}}, {column})::numeric * (0.75 + 0.25 * {ratio})
        END"""


def _code_is(column: str, mic: str | None) -> str:
    on_market = f" AND ({{mic}}::text IS NULL OR {mic} = {{mic}})" if mic else " AND {mic}::text IS NULL"
    return f"({column} = ANY({{codes}}){on_market})"


def _best(*candidates: tuple[str, str]) -> str:
    """The best (score, match) of a row's candidates, as a lateral row ``m``."""
    values = ", ".join(f"(({score})::numeric, '{match}')" for score, match in candidates)
    return f"""CROSS JOIN LATERAL (SELECT v.score, v.matched FROM (VALUES {values}) v (score, matched)
                            WHERE v.score IS NOT NULL ORDER BY v.score DESC LIMIT 1) m"""


def _by_name(table: str, *columns: str) -> str:
    """Ids of ``table`` whose names contain the text or resemble it: one index-served query per column."""
    return " UNION ".join(
        f"SELECT id FROM {table} WHERE {column} ILIKE ANY({{contains}})"
        f" UNION SELECT id FROM {table} WHERE {{fuzzy}} AND {{text}} <% {column}"
        for column in columns
    )


_ETF_MATCH = _best(
    (f"CASE WHEN {_code_is('e.code', 'e.mic')} THEN 1.0 END", "CODE"),
    (
        "CASE WHEN EXISTS (SELECT 1 FROM etf_counters x WHERE x.etf_id = e.id AND x.code <> e.code"
        f" AND {_code_is('x.code', 'x.mic')}) THEN 1.0 END",
        "COUNTER",
    ),
    ("CASE WHEN e.isin = {isin} THEN 1.0 END", "ISIN"),
    (_name_score("e.name_en"), "NAME"),
    (_name_score("e.name_zh"), "NAME_ZH"),
)
_ETF_FOUND = f"""SELECT id FROM etfs x WHERE {_code_is("x.code", "x.mic")}
    UNION SELECT etf_id FROM etf_counters x WHERE {_code_is("x.code", "x.mic")}
    UNION SELECT id FROM etfs WHERE isin = {{isin}}
    UNION {_by_name("etfs", "name_en", "name_zh")}"""
_ETFS = f"""SELECT 'ETF' AS kind, 1 AS kind_order, e.id, e.mic || ':' || e.code AS code, e.name_en AS name,
           e.name_zh, m.score, m.matched
    FROM etfs e {_ETF_MATCH}
    WHERE 'ETF' = ANY({{kinds}}) AND e.id IN ({_ETF_FOUND})"""

_INDEX_MATCH = _best(
    ("CASE WHEN i.code = upper({text}) THEN 1.0 END", "CODE"),
    (_name_score("i.name"), "NAME"),
    (_name_score("i.name_zh"), "NAME_ZH"),
)
_INDEX_FOUND = f"""SELECT id FROM indices WHERE code = upper({{text}})
    UNION {_by_name("indices", "name", "name_zh")}"""
_INDICES = f"""SELECT 'INDEX' AS kind, 2 AS kind_order, i.id, i.code, i.name, i.name_zh, m.score, m.matched
    FROM indices i {_INDEX_MATCH}
    WHERE 'INDEX' = ANY({{kinds}}) AND i.id IN ({_INDEX_FOUND})"""

_SECURITY_MATCH = _best(
    (f"CASE WHEN {_code_is('s.local_code', 's.mic')} THEN 1.0 END", "CODE"),
    ("CASE WHEN s.isin = {isin} THEN 1.0 END", "ISIN"),
    (_name_score("s.name"), "NAME"),
    (_name_score("s.name_zh"), "NAME_ZH"),
)
_SECURITY_FOUND = f"""SELECT id FROM securities x WHERE {_code_is("x.local_code", "x.mic")}
    UNION SELECT id FROM securities WHERE isin = {{isin}}
    UNION {_by_name("securities", "name", "name_zh")}"""
_SECURITIES = f"""SELECT 'SECURITY' AS kind, 3 AS kind_order, s.id, s.mic || ':' || s.local_code AS code,
           s.name, s.name_zh, m.score, m.matched
    FROM securities s {_SECURITY_MATCH}
    WHERE 'SECURITY' = ANY({{kinds}}) AND s.id IN ({_SECURITY_FOUND})"""

_MANAGER_MATCH = _best(
    ("CASE WHEN a.slug = lower({text}) THEN 1.0 END", "CODE"),
    (_name_score("a.short_name"), "NAME"),
    (_name_score("a.legal_name"), "NAME"),
)
_MANAGER_FOUND = f"""SELECT id FROM asset_managers WHERE slug = lower({{text}})
    UNION {_by_name("asset_managers", "short_name", "legal_name")}"""
_MANAGERS = f"""SELECT 'MANAGER' AS kind, 4 AS kind_order, a.id, a.slug AS code, a.short_name AS name,
           NULL::text AS name_zh, m.score, m.matched
    FROM asset_managers a {_MANAGER_MATCH}
    WHERE 'MANAGER' = ANY({{kinds}}) AND a.id IN ({_MANAGER_FOUND})"""

SEARCH_SOURCE = f"""(SELECT h.kind, h.kind_order, h.id, h.code, h.name, h.name_zh, round(h.score, 3) AS score,
           h.matched
    FROM ({_ETFS}
          UNION ALL {_INDICES}
          UNION ALL {_SECURITIES}
          UNION ALL {_MANAGERS}) h)"""

SEARCH_HIT = Entity(
    "SearchHit",
    "A search result: what it is, how well and on what it matched, and the object itself.",
    source="",  # only through search
    key=(OrderKey("{t}.kind_order", type="int"), OrderKey("{t}.id", type="bigint")),
    fields=(
        Column("kind", "{t}.kind", SEARCH_KIND, "What the result is."),
        Column(
            "score",
            "{t}.score",
            DECIMAL,
            "Relevance from 0 to 1: 1 an exact code, 0.95 a whole name, then a name starting with, "
            "containing, or resembling the text (results come best first).",
        ),
        Column("matchedOn", "{t}.matched", SEARCH_MATCH, "What matched the text."),
        Column(
            "code",
            "{t}.code",
            STRING,
            "Its identity: `MIC:code` of a fund or security, an index code, a manager's slug.",
        ),
        Column("name", "{t}.name", STRING, "Its English (or only) name; a manager's short name."),
        Column("nameZh", "{t}.name_zh", STRING, "Its Chinese name, where known.", nullable=True),
        Relation(
            "etf",
            "Etf",
            "The fund, when the result is one.",
            join="{p}.kind = 'ETF' AND {c}.id = {p}.id",
            nullable=True,
        ),
        Relation(
            "index",
            "Index",
            "The index, when the result is one.",
            join="{p}.kind = 'INDEX' AND {c}.id = {p}.id",
            nullable=True,
        ),
        Relation(
            "security",
            "Security",
            "The security, when the result is one.",
            join="{p}.kind = 'SECURITY' AND {c}.id = {p}.id",
            nullable=True,
        ),
        Relation(
            "manager",
            "Manager",
            "The manager, when the result is one.",
            join="{p}.kind = 'MANAGER' AND {c}.id = {p}.id",
            nullable=True,
        ),
    ),
)


def _search(args: Mapping[str, Any], context: Context) -> Mapping[str, Any]:
    text = " ".join(str(args["text"]).split())
    if not text:
        raise BadInput("`text` must not be blank", argument="text")
    if len(text) > MAX_TEXT:
        raise BadInput(f"`text` is at most {MAX_TEXT} characters (got {len(text)})", argument="text")
    forms = code_forms(text)
    variants = both_scripts(text)
    return {
        "text": text.lower(),
        "mic": forms.mic,
        "codes": list(forms.codes),
        "isin": forms.isin,
        "exact": [v.lower() for v in variants],
        "prefixes": [like_pattern(v, prefix=True) for v in variants],
        "contains": [like_pattern(v) for v in variants],
        "fuzzy": text.isascii()
        and any(c.isalpha() for c in text)
        and sum(c.isalnum() for c in text) >= MIN_FUZZY,
        "kinds": list(args.get("kinds") or KINDS),
    }


ROOTS = (
    Root(
        "search",
        "ETFs, indices, securities and managers matching what was typed, best first: any code form "
        "(`03033`, `3033`, `XHKG:03033`, `3033.HK`, a counter such as `82800`, an ISIN), names in part or "
        "with typos, Chinese in either script (半导体 finds 半導體).",
        RootKind.LIST,
        target="SearchHit",
        source=SEARCH_SOURCE,
        where="{c}.score IS NOT NULL",
        args=(
            Arg("text", STRING, f"What was typed (at most {MAX_TEXT} characters).", required=True),
            Arg("kinds", SEARCH_KIND, "Only these kinds of result (default all).", many=True),
        ),
        prepare=_search,
        params={
            "mic": "text",
            "codes": "text[]",
            "isin": "text",
            "exact": "text[]",
            "prefixes": "text[]",
            "contains": "text[]",
            "fuzzy": "boolean",
            "kinds": "text[]",
        },
        order=(
            OrderKey("{t}.score", descending=True, type="numeric"),
            OrderKey("{t}.kind_order", type="int"),
            OrderKey("char_length({t}.name)", type="int"),
            OrderKey("{t}.code"),
        ),
        scope=READ_REFERENCE,
    ),
)

ENTITIES = (SEARCH_HIT,)
