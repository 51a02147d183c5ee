"""The model holds together: names resolve, every SQL placeholder is a row alias, an argument or a declared
parameter, and every shape argument's values give SQL for each placeholder left."""

from __future__ import annotations

import itertools
import re

from service.model import MODEL
from service.model.catalog import Catalog
from service.model.declare import Arg, Column, EnumType, Relation, Root

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
ALIASES = {"t", "c", "p"}


def _names(args: tuple[Arg, ...]) -> set[str]:
    return {a.param_name for a in args}


def _holes(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def test_every_relation_reaches_an_entity_and_names_are_unique() -> None:
    entities = {e.name for e in MODEL.entities}
    assert len(entities) == len(MODEL.entities)
    for entity in MODEL.entities:
        names = [f.name for f in entity.fields]
        assert len(names) == len(set(names)), entity.name
        for field in entity.fields:
            if isinstance(field, Relation):
                assert field.target in entities, f"{entity.name}.{field.name}"
    for root in MODEL.roots:
        assert root.target is None or root.target in entities, root.name
    catalog = Catalog(MODEL)
    assert len(catalog.roots) >= len(MODEL.roots)


def test_entities_without_a_source_are_only_reached_through_their_own() -> None:
    sourced = {f.target for e in MODEL.entities for f in e.fields if isinstance(f, Relation) and f.source}
    sourced |= {r.target for r in MODEL.roots if r.source}
    for entity in MODEL.entities:
        if not entity.source:
            assert entity.name in sourced, entity.name
            for other in MODEL.entities:
                for field in other.fields:
                    if isinstance(field, Relation) and field.target == entity.name:
                        assert field.source, f"{other.name}.{field.name} needs a source"


def _fragment_sets(decl: Root | Relation) -> list[dict[str, str]]:
    """The SQL text the declaration's fragments give, for every combination of its shape arguments."""
    if decl.fragments is None:
        return [{}]
    shaped = [a for a in decl.args if a.shape]
    choices = [
        [v.name for v in a.type.values] + ([] if a.required else [None])
        for a in shaped
        if isinstance(a.type, EnumType)
    ]
    return [
        decl.fragments(dict(zip([a.name for a in shaped], combo, strict=True)))
        for combo in itertools.product(*choices)
    ]


def test_every_placeholder_is_an_alias_an_argument_or_a_parameter() -> None:
    for entity in MODEL.entities:
        assert _holes(entity.source) <= set(), entity.name
        for key in entity.key:
            assert _holes(key.sql) <= {"t"}, entity.name
        for where in entity.wheres:
            assert _holes(where.sql) <= {"t", "value"}, f"{entity.name}.{where.name}"
        if entity.node is not None:
            assert _holes(entity.node.sql) <= {"t"} and _holes(entity.node.lookup) <= {"t", "k1", "k2"}
        for field in entity.fields:
            known = ALIASES | _names(field.args) | set(field.params)
            if isinstance(field, Column):
                assert _holes(field.sql) <= known, f"{entity.name}.{field.name}: {_holes(field.sql) - known}"
                continue
            for fragments in _fragment_sets(field):
                for text in (field.join, field.source or "", *(a.when or "" for a in field.args)):
                    for _ in range(3):
                        text = PLACEHOLDER.sub(lambda m, f=fragments: f.get(m[1], m[0]), text)
                    assert _holes(text) <= known, f"{entity.name}.{field.name}: {_holes(text) - known}"
            for key in field.order:
                assert _holes(key.sql) <= {"t"}
    for root in MODEL.roots:
        known = ALIASES | _names(root.args) | set(root.params)
        for fragments in _fragment_sets(root):
            texts = [root.source or "", root.where, root.sql, *(a.when or "" for a in root.args)]
            texts += [c.sql for c in root.checks]
            for text in texts:
                for _ in range(3):
                    text = PLACEHOLDER.sub(lambda m, f=fragments: f.get(m[1], m[0]), text)
                assert _holes(text) <= known, f"{root.name}: {_holes(text) - known}"


def test_fields_a_scope_guards_can_be_null() -> None:
    from graphql import GraphQLNonNull

    from schema.schema import schema

    catalog = Catalog(MODEL)
    for entity in MODEL.entities:
        gtype = schema._schema.type_map[entity.name]
        for name, field in catalog.objects[entity.name].items():
            if field.scope is not None:
                assert not isinstance(gtype.fields[name].type, GraphQLNonNull), f"{entity.name}.{name}"
    for name, field in schema._schema.query_type.fields.items():
        assert not isinstance(field.type, GraphQLNonNull), f"Query.{name} must be nullable"
