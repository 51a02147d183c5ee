"""The datasets a load fills: one name each, shared by the CLI, the loader, load history and GraphQL.

A dataset is what ``connectgraph load <dataset>`` takes, what ``load_history.dataset`` and
``datasets.name`` hold, what the loader's NOTIFY carries and what ``dataLanded(dataset:)`` filters on.
The members are listed in load order: a dataset's references are loaded by the ones before it.
"""

from __future__ import annotations

from enum import StrEnum


class Dataset(StrEnum):
    MANAGERS = "managers"
    INDICES = "indices"
    SECURITIES = "securities"
    MEMBERSHIPS = "memberships"
    LICENCES = "licences"
    ETFS = "etfs"
    MANAGER_CHANGES = "manager-changes"
    ELIGIBILITY = "eligibility"
    CALENDAR = "calendar"
    FX = "fx"
    INDEX_LEVELS = "index-levels"
    CONNECT_DAILY = "connect-daily"
    ETF_DAILY = "etf-daily"

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]

    @classmethod
    def named(cls, name: str) -> Dataset | None:
        """The dataset called ``name`` (as typed: ``etf-daily``), or None."""
        try:
            return cls(name)
        except ValueError:
            return None


_DESCRIPTIONS: dict[Dataset, str] = {
    Dataset.MANAGERS: "Asset managers: ETF issuers and index licensees.",
    Dataset.INDICES: "Indices with provider, base, launch and methodology facts.",
    Dataset.SECURITIES: "Securities (index constituents) by exchange and local code.",
    Dataset.MEMBERSHIPS: "Index constituents and weights over time, from providers' snapshots.",
    Dataset.LICENCES: "Index licences granted to asset managers.",
    Dataset.ETFS: "Listed funds with issuer, tracked index and trading counters.",
    Dataset.MANAGER_CHANGES: "Changes of a fund's manager: effective date, previous and new manager.",
    Dataset.ELIGIBILITY: "ETF Connect eligibility periods, from HKEX change files and full lists.",
    Dataset.CALENDAR: "Exchange trading days and the exceptions to Connect days.",
    Dataset.FX: "Daily exchange rates.",
    Dataset.INDEX_LEVELS: "Daily index levels.",
    Dataset.CONNECT_DAILY: "HKEX daily Stock Connect statistics: turnover, net buying and quotas.",
    Dataset.ETF_DAILY: "ETF daily figures: NAV, units, AUM, creations, turnover.",
}
