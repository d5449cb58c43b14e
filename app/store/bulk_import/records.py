"""The NDJSON import's line schemas, in two shapes made from one definition.

The pydantic models (CustomerLine, OrderLine, CaseLine) are what the Python writers take and what
names a rejected line's fields. The bulk path on PostgreSQL does not need model objects: it
copies values into staging tables. Building a model per line, and one per nested phone and item,
was most of the import's validation cost, so the same rules are also compiled into TypedDicts
(derived field by field from the models, never written twice), which validate to plain dicts at
under half the cost. Both accept exactly the same input; a line the dict schema refuses is
validated again by the model schema, so a rejection's message is always the model's.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal, NotRequired, Required, Union

from pydantic import BaseModel, Field, StringConstraints, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

# pydantic refuses typing.TypedDict before Python 3.12.
from typing_extensions import TypedDict

from app.store.schemas import CaseIn, CustomerIn, OrderIn

ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=255)]
# The store a line's record belongs to, when not the import's own (`?store=`).
LineStore = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# The region a store reads phone numbers in, by store id; None for a store that does not exist.
StoreRegions = Callable[[str], "str | None"]


class LineRefused(ValueError):
    """A line that validates but cannot be taken (it names a store that does not exist)."""


class CustomerLine(CustomerIn):
    type: Literal["customer"]
    external_id: ExternalId
    store: LineStore | None = None


class OrderLine(OrderIn):
    type: Literal["order"]
    external_id: ExternalId
    store: LineStore | None = None


class CaseLine(CaseIn):
    type: Literal["case"]
    external_id: ExternalId
    store: LineStore | None = None


def region_of_line(store: str, regions: StoreRegions) -> str:
    """The region of the store a line names; LineRefused naming it when there is no such store."""
    region = regions(store)
    if region is None:
        raise LineRefused(f"store: no store {store!r}")
    return region


LineModel = CustomerLine | OrderLine | CaseLine

line_models: TypeAdapter[LineModel] = TypeAdapter(Annotated[LineModel, Field(discriminator="type")])

# FieldInfo attributes the dict schema does not carry over. A model that starts using one of them
# must fail loudly here rather than validate differently on the bulk path.
_UNSUPPORTED_FIELD_SETTINGS = (
    "alias",
    "validation_alias",
    "discriminator",
    "strict",
    "union_mode",
    "fail_fast",
    "validate_default",
)


def _typed_dict_of(model: type[BaseModel], cache: dict[type[BaseModel], Any]) -> Any:
    """A TypedDict with the model's fields, constraints, validators and config (nested models
    become nested TypedDicts). Fields with defaults are NotRequired: the dict omits them, and the
    reader supplies the model's default."""
    if model in cache:
        return cache[model]
    decorators = model.__pydantic_decorators__
    if decorators.field_validators or decorators.model_validators or decorators.validators:
        raise TypeError(f"{model.__name__} has validators the import's dict schema cannot copy")
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        fields[name] = _field_type(model, name, info, cache)
    # Class syntax cannot take computed fields; the functional form is typed for literals only.
    typed_dict_factory: Any = TypedDict
    schema = typed_dict_factory(f"{model.__name__}Dict", fields)
    schema.__pydantic_config__ = model.model_config
    cache[model] = schema
    return schema


def _field_type(model: type[BaseModel], name: str, info: FieldInfo, cache: dict[type[BaseModel], Any]) -> Any:
    for setting in _UNSUPPORTED_FIELD_SETTINGS:
        if getattr(info, setting, None) is not None:
            raise TypeError(f"{model.__name__}.{name} sets {setting}, which the import's dict schema lacks")
    annotation = _without_models(info.annotation, cache)
    if info.metadata:
        annotation = Annotated[(annotation, *info.metadata)]
    return Required[annotation] if info.is_required() else NotRequired[annotation]


def _without_models(annotation: Any, cache: dict[type[BaseModel], Any]) -> Any:
    """The same type with every pydantic model inside it replaced by its TypedDict."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _typed_dict_of(annotation, cache)
    origin = typing.get_origin(annotation)
    if origin is None:
        return annotation
    args = typing.get_args(annotation)
    if origin is Annotated:
        return Annotated[(_without_models(args[0], cache), *annotation.__metadata__)]
    if origin is Literal:
        return annotation
    new_args = tuple(_without_models(arg, cache) for arg in args)
    if origin is Union or origin is types.UnionType:
        return Union[new_args]  # noqa: UP007 - built from a tuple at runtime
    return origin[new_args if len(new_args) > 1 else new_args[0]]


def _line_dicts() -> TypeAdapter[dict[str, Any]]:
    cache: dict[type[BaseModel], Any] = {}
    schemas = tuple(_typed_dict_of(model, cache) for model in (CustomerLine, OrderLine, CaseLine))
    union: Any = Union[schemas]  # noqa: UP007 - built from a tuple at runtime
    return TypeAdapter(Annotated[union, Field(discriminator="type")])


line_dicts = _line_dicts()


def validate_line(raw: bytes) -> dict[str, Any]:
    """One NDJSON line as a dict of validated values (defaults omitted). Raises the model
    schema's ValidationError for a line either schema refuses."""
    try:
        return line_dicts.validate_json(raw)
    except ValidationError:
        # The model schema words the rejection (and, should the two ever disagree, decides).
        return line_models.validate_json(raw).model_dump()
