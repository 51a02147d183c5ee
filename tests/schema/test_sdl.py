"""The committed SDL is the contract with the frontends: it must match the code."""

from pathlib import Path

from schema.export import sdl

COMMITTED = Path(__file__).resolve().parents[2] / "schema" / "schema.graphql"


def test_committed_sdl_matches_the_code() -> None:
    assert COMMITTED.read_text() == sdl(), (
        "schema/schema.graphql is stale: run `make schema` and commit the result"
    )


def test_every_type_and_field_has_a_description() -> None:
    from graphql import GraphQLObjectType

    from schema.schema import schema

    missing = []
    for name, gtype in schema._schema.type_map.items():
        if name.startswith("__") or not isinstance(gtype, GraphQLObjectType):
            continue
        if not gtype.description:
            missing.append(name)
        for field_name, field in gtype.fields.items():
            if not field.description and field_name not in {"id"}:
                missing.append(f"{name}.{field_name}")
    assert missing == []
