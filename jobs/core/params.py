"""A job function's typed signature as its form, its JSON Schema and its validator.

    model = params_model(count_primes)
    values = validate(model, {"limit": "1000"})   # -> {"limit": 1000}, or raises ParamsError

Supported annotations: int, float, str, bool, Literal[...], list[str], Upload, each
optionally wrapped in Annotated[..., Field(description=..., ge=..., max_length=...)].
"""

from __future__ import annotations

import inspect
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from pydantic_core import core_schema

from jobs.core.exceptions import ParamsError


class Upload(str):
    """A file parameter. In the job it is the id of the stored upload; see `jobs.core.files`."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source, handler):
        return core_schema.no_info_after_validator_function(cls, core_schema.str_schema(max_length=200))

    @classmethod
    def __get_pydantic_json_schema__(cls, schema, handler):
        return {"type": "string", "format": "binary"}


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, hide_input_in_errors=True)


def params_model(func) -> type[BaseModel]:
    """Build the pydantic model of a function's keyword parameters."""
    hints = typing.get_type_hints(func, include_extras=True)
    fields: dict[str, Any] = {}
    for name, param in inspect.signature(func).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"{func.__name__}: *args and **kwargs cannot be a form")
        if name not in hints:
            raise TypeError(f"{func.__name__}: parameter {name!r} needs a type annotation")
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (hints[name], default)
    return create_model(f"{func.__name__}_params", __base__=_Params, **fields)


def json_schema(model: type[BaseModel]) -> dict:
    schema = model.model_json_schema()
    schema.pop("title", None)
    for name, prop in schema.get("properties", {}).items():
        # `X | None = None` is an optional X: describe it as X, which a form can show.
        branches = [b for b in prop.get("anyOf", ()) if b.get("type") != "null"]
        if len(branches) == 1 and len(prop["anyOf"]) == 2:
            del prop["anyOf"]
            prop.update({k: v for k, v in branches[0].items() if k not in prop})
        prop.setdefault("title", name.replace("_", " ").capitalize())
        _no_nul(prop)
        _no_nul(prop.get("items", {}))
    return schema


# Text with a NUL is refused (see _text_problem); the schema says so, so a client (or a
# generator of test requests) that follows it sends only text the API accepts.
NO_NUL = "^[^\\u0000]*$"


def _no_nul(prop: dict) -> None:
    """Give a free-text string schema the pattern that excludes NUL characters."""
    free_text = prop.get("type") == "string" and not ({"enum", "const", "format", "pattern"} & prop.keys())
    if free_text:
        prop["pattern"] = NO_NUL


def _text_problem(value: Any) -> str | None:
    """What is wrong with the text in a value (a string, or a list of them), if anything."""
    if isinstance(value, list):
        return next((p for v in value if (p := _text_problem(v))), None)
    if not isinstance(value, str):
        return None
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: JSON allows it, but no page or file could hold it
        return "is not valid Unicode text (it has an unpaired surrogate)"
    return None


def validate(model: type[BaseModel], data: Any) -> dict:
    """Check and convert raw parameters; raise ParamsError naming each bad field."""
    if not isinstance(data, dict):
        raise ParamsError({"params": "must be a JSON object of parameter names to values"})
    bad = {name: problem for name, value in data.items() if (problem := _text_problem(value))}
    if bad:
        raise ParamsError(bad)
    try:
        return model.model_validate(data).model_dump()
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for error in exc.errors(include_url=False, include_input=False):
            name = str(error["loc"][0]) if error["loc"] else "params"
            message = "is not a parameter of this job type" if error["type"] == "extra_forbidden" else error["msg"]
            fields.setdefault(name, message)
        raise ParamsError(fields) from None
