"""How a loadable table is declared: a line model whose fields say which publisher's column fills them.

A *line* is one row of a publisher's file, validated and typed by pydantic. Its declaration (in
``service/ingest/tables.py``) is the single source of what a load does with the table:

* each field's ``Col`` names the publisher's column (the layout: header -> field, required columns) and
  whether the value is staged; its annotated type is the validation and gives the staging column's SQL
  type; ``Derived`` names computed values (properties) that are staged as well;
* class variables say the dataset, the layout's name, the table written, the natural key, the other
  keys a file must not repeat, the references to other tables (checked, and written as ids), and the
  update policy (columns kept when the file's value is blank, columns never updated).

From it come the staging table, the COPY records, the duplicate-key and reference checks and the upsert
(``spec``), the layouts the reader matches (``service/ingest/layouts.py``), and the header and cell
formatting of the files ``connectgraph generate`` and the demo write (``header``, ``cell_text``).

A column a file does not carry is left as stored: the upsert writes only the file's columns (a new row
gets the table's default), so adding an optional column never disturbs files that lack it.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, model_validator

from service.ingest.cells import Digits, local_code
from service.ingest.datasets import Dataset
from service.ingest.readers import header_key
from service.repositories.ingest import Ref, TableSpec

Record = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Col:
    """Where a field's value comes from: the publisher's column ``header``.

    ``sql`` is the staging column's type when the annotation does not say it (a PostgreSQL enum);
    ``staged=False`` reads and validates the cell but does not stage it (a constituent's name).
    """

    header: str
    sql: str | None = None
    staged: bool = True


@dataclass(frozen=True, slots=True)
class Derived:
    """A staged value computed from the line (a property named ``name``).

    It is written to the table when ``written`` and the file carries every field it ``needs``.
    """

    name: str
    sql: str
    needs: tuple[str, ...] = ()
    written: bool = True


def _sql_type(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _sql_type(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return _sql_type(next(a for a in get_args(annotation) if a is not type(None)))
    if origin is list:
        return _sql_type(get_args(annotation)[0]) + "[]"
    if origin is Literal:
        return "text"
    known = {str: "text", date: "date", Decimal: "numeric", bool: "boolean", int: "bigint"}
    if annotation in known:
        return known[annotation]
    raise TypeError(f"no staging type for {annotation!r}: give Col(sql=...)")


class Line(BaseModel):
    """One line of a publisher's file; subclasses declare a table (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    dataset: ClassVar[Dataset]
    layout: ClassVar[str]  # the layout's name, e.g. "etf-master"
    about: ClassVar[str]  # one line on what the file is
    table: ClassVar[str]  # the table the layout writes
    key: ClassVar[tuple[str, ...]] = ()  # the natural key (staged names)
    unique: ClassVar[tuple[tuple[str, ...], ...]] = ()  # more keys a file must not repeat
    refs: ClassVar[tuple[Ref, ...]] = ()
    derived: ClassVar[tuple[Derived, ...]] = ()
    keep_when_null: ClassVar[tuple[str, ...]] = ()  # a blank cell keeps the stored value
    fixed: ClassVar[tuple[str, ...]] = ()  # set when the row is inserted, never updated
    also_writes: ClassVar[tuple[str, ...]] = ()  # tables written besides ``table`` (for ANALYZE)
    day_field: ClassVar[str | None] = None  # the field carrying the line's trading (or effective) day
    padded: ClassVar[tuple[str, ...]] = ()  # Hong Kong codes zero-padded (``700`` is ``00700``)
    padded_mic: ClassVar[str | None] = None  # the exchange of ``padded`` codes when no ``mic`` field

    @model_validator(mode="before")
    @classmethod
    def _pad_codes(cls, data: Any) -> Any:
        if not cls.padded or not isinstance(data, dict):
            return data
        mic = cls.padded_mic or str(data.get("mic") or "").strip().upper()
        if mic != "XHKG":
            return data
        data = dict(data)
        for name in cls.padded:
            value = data.get(name)
            if isinstance(value, str):
                data[name] = local_code(mic, value.strip())
        return data

    # --- The declaration, read --------------------------------------------------------------------

    @classmethod
    def cols(cls) -> tuple[tuple[str, Col], ...]:
        """(field, Col) in declaration order."""
        return _markers(cls, Col)

    @classmethod
    def columns(cls) -> Mapping[str, str]:
        """The publisher's column name -> field."""
        return {col.header: name for name, col in cls.cols()}

    @classmethod
    def header(cls) -> list[str]:
        """The publisher's columns in declaration order (a generated file's header row)."""
        return [col.header for _, col in cls.cols()]

    @classmethod
    def required_headers(cls) -> frozenset[str]:
        """Header keys that must be present: the columns of required fields."""
        fields = cls.model_fields
        return frozenset(header_key(col.header) for name, col in cls.cols() if fields[name].is_required())

    @classmethod
    def column_of(cls, field: str) -> str:
        for name, col in cls.cols():
            if name == field:
                return col.header
        return field

    @classmethod
    def staging(cls) -> tuple[tuple[str, str], ...]:
        """Staged columns (after ``line``): (name, SQL type), fields first, then derived values."""
        return _staging(cls)

    @classmethod
    def digit_limits(cls) -> tuple[tuple[str, Digits], ...]:
        """(field, Digits) of the ``numeric`` fields whose precision ``problems`` checks."""
        return _markers(cls, Digits)

    @classmethod
    def spec(cls, present: frozenset[str] | None = None) -> TableSpec:
        """The statements' view of the declaration for a file carrying the fields ``present``
        (every field when None): what is staged, what is written and how rows are matched."""
        staged = cls.staging()
        names = {name for name, _ in staged}
        present = frozenset(name for name, _ in cls.cols()) if present is None else present
        sources = {field for ref in cls.refs for field, _ in ref.on}
        written: list[str] = [
            name for name, col in cls.cols() if col.staged and name in present and name not in sources
        ]
        written += [d.name for d in cls.derived if d.written and set(d.needs) <= present]
        refs = tuple(ref for ref in cls.refs if {field for field, _ in ref.on} <= present)
        conflict: list[str] = []
        for name in cls.key:
            ref = next((r for r in cls.refs if name in {f for f, _ in r.on}), None)
            column = ref.id_column if ref is not None and ref.id_column else name
            if column not in conflict:
                conflict.append(column)
        unknown = {n for key in (cls.key, *cls.unique) for n in key} - names
        if unknown:
            raise TypeError(f"{cls.__name__}: keys name unstaged fields {sorted(unknown)}")
        return TableSpec(
            layout=cls.layout,
            table=cls.table,
            staging=staged,
            written=tuple(written),
            refs=refs,
            conflict=tuple(conflict),
            unique=tuple(k for k in (cls.key, *cls.unique) if k),
            keep_when_null=cls.keep_when_null,
            fixed=cls.fixed,
            present=present,
        )

    @classmethod
    def writes(cls) -> tuple[str, ...]:
        """Every table a load of this layout may write."""
        return (cls.table, *cls.also_writes)

    # --- A line's values ----------------------------------------------------------------------------

    def problems(self) -> Iterator[tuple[str, str]]:
        """Checks beyond one field's type: numeric precision here, cross-field rules in subclasses."""
        for name, limits in self.digit_limits():
            value = getattr(self, name)
            if value is not None:
                reason = limits.problem(value)
                if reason is not None:
                    yield name, reason

    def skipped(self) -> bool:
        """True for a line the dataset does not take (counted as skipped, not loaded)."""
        return False

    def record(self) -> Record:
        """The line's staged values, in ``staging()`` order."""
        return tuple(getattr(self, name) for name, _ in self.staging())

    def row_day(self) -> date | None:
        return getattr(self, self.day_field) if self.day_field else None


M = TypeVar("M")


@functools.cache
def _markers(line: type[Line], kind: type[M]) -> tuple[tuple[str, M], ...]:
    """(field, marker) for the fields annotated with a ``kind`` marker, in declaration order."""
    return tuple(
        (name, marker)
        for name, info in line.model_fields.items()
        for marker in info.metadata
        if isinstance(marker, kind)
    )


@functools.cache
def _staging(line: type[Line]) -> tuple[tuple[str, str], ...]:
    fields = line.model_fields
    staged = tuple(
        (name, col.sql or _sql_type(fields[name].annotation)) for name, col in line.cols() if col.staged
    )
    return staged + tuple((d.name, d.sql) for d in line.derived)


def cell_text(value: object) -> str:
    """A value as a publisher writes it: dates ISO, flags Y/N, lists ``a|b``, blank for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, list | tuple):
        return "|".join(str(v) for v in value)
    return str(value)


def header_fields(line: type[Line], header: Sequence[str]) -> list[str | None]:
    """The field each header cell fills (None for columns the layout ignores); a column named twice:
    the later one counts."""
    by_key = {header_key(col): field for col, field in line.columns().items()}
    fields: list[str | None] = [by_key.get(header_key(cell)) for cell in header]
    for i, name in enumerate(fields):
        if name is not None and name in fields[i + 1 :]:
            fields[i] = None
    return fields
