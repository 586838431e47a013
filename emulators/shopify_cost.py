"""The Shopify emulator's requested query cost, a simplified form of Shopify's rule.

Shopify (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits, "Cost
calculation") gives every field a cost by what it returns: scalars and enums 0, objects 1,
connections 2 plus the number of objects asked for, mutations 10. The emulator computes:

- a scalar or enum field: 0;
- an object field (or a list of objects that is not a connection): 1 + its selection;
- a connection (a field whose type ends in `Connection`): 2 + n x (1 + the selection under
  `nodes` or `edges { node }`), n being its `first` or `last` argument; `pageInfo` and
  cursors are part of the 2;
- a mutation's root field: 10, whatever it selects.

The actual cost counts the same way with each connection's size being the number of
items it returned; the bucket is charged the requested cost before a query runs and
refunded the difference afterwards, as Shopify does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    value_from_ast_untyped,
)

__all__ = ["MUTATION_COST", "actual_cost", "requested_cost"]

MUTATION_COST = 10


def requested_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> int:
    if operation.operation == OperationType.MUTATION:
        return MUTATION_COST * len(_fields(operation.selection_set, fragments))
    root = schema.query_type
    if root is None:
        return 0
    return _cost(root, operation.selection_set, fragments, variables)


def _fields(
    selection_set: SelectionSetNode | None, fragments: Mapping[str, FragmentDefinitionNode]
) -> list[FieldNode]:
    found: list[FieldNode] = []
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            found.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            found.extend(_fields(selection.selection_set, fragments))
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                found.extend(_fields(fragment.selection_set, fragments))
    return found


def _cost(
    parent: GraphQLObjectType | GraphQLInterfaceType,
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> int:
    total = 0
    for node in _fields(selection_set, fragments):
        definition = parent.fields.get(node.name.value)
        if definition is None:  # __typename and the like
            continue
        total += _field_cost(definition, node, fragments, variables)
    return total


def _field_cost(
    definition: GraphQLField,
    node: FieldNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> int:
    named = get_named_type(definition.type)
    if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        return 0
    if not named.name.endswith("Connection"):
        return 1 + _cost(named, node.selection_set, fragments, variables)
    size = _argument(node, "first", variables) or _argument(node, "last", variables) or 0
    per_item = 0
    for child in _fields(node.selection_set, fragments):
        if child.name.value == "nodes":
            per_item = max(per_item, _element_cost(named, child, fragments, variables))
        elif child.name.value == "edges":
            for inner in _fields(child.selection_set, fragments):
                if inner.name.value == "node":
                    edge_type = get_named_type(named.fields["edges"].type)
                    assert isinstance(edge_type, GraphQLObjectType)
                    per_item = max(per_item, _element_cost(edge_type, inner, fragments, variables))
    return 2 + int(size) * max(per_item, 1)


def _element_cost(
    holder: GraphQLObjectType | GraphQLInterfaceType,
    node: FieldNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> int:
    element = get_named_type(holder.fields[node.name.value].type)
    if not isinstance(element, GraphQLObjectType | GraphQLInterfaceType):
        return 1
    return 1 + _cost(element, node.selection_set, fragments, variables)


def _argument(node: FieldNode, name: str, variables: Mapping[str, Any]) -> int | None:
    for argument in node.arguments or ():
        if argument.name.value == name:
            value = value_from_ast_untyped(argument.value, dict(variables))
            return int(value) if isinstance(value, int) else None
    return None


def actual_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    data: Mapping[str, Any] | None,
) -> int:
    """The cost of what was returned: the requested rule with each connection's size the
    number of items it returned (Shopify refunds the bucket the difference)."""
    if operation.operation == OperationType.MUTATION:
        return requested_cost(schema, operation, fragments, variables)
    root = schema.query_type
    if root is None or data is None:
        return 0
    return _actual(root, operation.selection_set, fragments, data)


def _actual(
    parent: GraphQLObjectType | GraphQLInterfaceType,
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    data: Any,
) -> int:
    if not isinstance(data, Mapping):
        return 0
    total = 0
    for node in _fields(selection_set, fragments):
        definition = parent.fields.get(node.name.value)
        if definition is None:
            continue
        key = node.alias.value if node.alias else node.name.value
        total += _actual_field(definition, node, fragments, data.get(key))
    return total


def _actual_field(
    definition: GraphQLField,
    node: FieldNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    value: Any,
) -> int:
    named = get_named_type(definition.type)
    if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType) or value is None:
        return 0
    if not named.name.endswith("Connection"):
        elements = value if isinstance(value, list) else [value]
        costs = [_actual(named, node.selection_set, fragments, v) for v in elements]
        return 1 + max(costs, default=0)
    per_item = 0
    count = 0
    for child in _fields(node.selection_set, fragments):
        key = child.alias.value if child.alias else child.name.value
        if child.name.value == "nodes":
            items = value.get(key) or []
            element = get_named_type(named.fields["nodes"].type)
            count = max(count, len(items))
            for item in items:
                per_item = max(per_item, 1 + _actual_object(element, child, fragments, item))
        elif child.name.value == "edges":
            edges = value.get(key) or []
            count = max(count, len(edges))
            edge_type = get_named_type(named.fields["edges"].type)
            assert isinstance(edge_type, GraphQLObjectType)
            for inner in _fields(child.selection_set, fragments):
                if inner.name.value != "node":
                    continue
                element = get_named_type(edge_type.fields["node"].type)
                inner_key = inner.alias.value if inner.alias else "node"
                for edge in edges:
                    item = edge.get(inner_key) if isinstance(edge, Mapping) else None
                    per_item = max(per_item, 1 + _actual_object(element, inner, fragments, item))
    return 2 + count * max(per_item, 1)


def _actual_object(
    element: Any, node: FieldNode, fragments: Mapping[str, FragmentDefinitionNode], item: Any
) -> int:
    if not isinstance(element, GraphQLObjectType | GraphQLInterfaceType):
        return 0
    return _actual(element, node.selection_set, fragments, item)
