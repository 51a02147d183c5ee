"""The committed SDL is the contract with the frontends: it must match the code."""

from pathlib import Path

from schema.export import sdl

COMMITTED = Path(__file__).resolve().parents[2] / "schema" / "schema.graphql"


def test_committed_sdl_matches_the_code() -> None:
    assert COMMITTED.read_text() == sdl(), (
        "schema/schema.graphql is stale: run `make schema` and commit the result"
    )


def test_every_type_field_argument_enum_value_and_input_field_has_a_description() -> None:
    from graphql import (
        GraphQLEnumType,
        GraphQLInputObjectType,
        GraphQLInterfaceType,
        GraphQLObjectType,
        GraphQLScalarType,
    )

    from schema.schema import schema

    missing = []
    for name, gtype in schema._schema.type_map.items():
        if name.startswith("__"):
            continue
        if not gtype.description and not (isinstance(gtype, GraphQLScalarType) and name in _BUILT_IN):
            missing.append(name)
        if isinstance(gtype, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in gtype.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                missing += [
                    f"{name}.{field_name}({a})" for a, arg in field.args.items() if not arg.description
                ]
        elif isinstance(gtype, GraphQLInputObjectType):
            missing += [f"{name}.{f}" for f, field in gtype.fields.items() if not field.description]
        elif isinstance(gtype, GraphQLEnumType):
            missing += [f"{name}.{v}" for v, value in gtype.values.items() if not value.description]
    assert missing == []


_BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}
