"""Config and sample-sheet schemas: loading them, reading text values as the types they ask for, filling
their defaults, and turning a schema violation into words (what is wrong, where, and the fix)."""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from carvis.core.errors import InputError

KeyPath = tuple[str | int, ...]

_TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "object": "a section of 'key: value' lines",
    "array": "a list such as [a, b]",
    "boolean": "true or false",
}


def load_schema(path: Path) -> dict[str, Any]:
    """Read a YAML JSON-schema."""
    if not Path(path).is_file():
        raise InputError(path, "schema file not found", "point --schemas at carvis's workflow/schemas folder")
    with open(path) as handle:
        schema: dict[str, Any] = yaml.safe_load(handle)
    Draft202012Validator.check_schema(schema)
    return schema


def dotted(path: Iterable[str | int]) -> str:
    """('vectors', 'car', 'provirus', 0) -> 'vectors.car.provirus[0]'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the top level"


def _range_text(schema: Mapping[str, Any]) -> str:
    """Human text for a schema's numeric bounds, e.g. 'above 0 and at most 1'."""
    parts = []
    if "minimum" in schema:
        parts.append(f"at least {schema['minimum']}")
    if "exclusiveMinimum" in schema:
        parts.append(f"above {schema['exclusiveMinimum']}")
    if "maximum" in schema:
        parts.append(f"at most {schema['maximum']}")
    if "exclusiveMaximum" in schema:
        parts.append(f"below {schema['exclusiveMaximum']}")
    return " and ".join(parts)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """'did you mean X? ' for a close or abbreviated match, else ''."""
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    close += [c for c in options if len(word) >= 3 and c.lower().startswith(word.lower())]
    return f"did you mean {close[0]!r}? " if close else ""


def key_index(schema: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Every config key name -> its full dotted place, for 'it belongs in another section' hints."""
    out: dict[str, str] = {}
    for key, sub in schema.get("properties", {}).items():
        here = f"{prefix}{key}"
        out.setdefault(key, here)
        out.update({k: v for k, v in key_index(sub, here + ".").items() if k not in out})
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and "properties" in extra:
        out.update({k: v for k, v in key_index(extra, prefix + "<name>.").items() if k not in out})
    return out


def explain(
    error: ValidationError, name_of: Callable[[KeyPath], str], elsewhere: Mapping[str, str]
) -> tuple[KeyPath, str, str]:
    """Turn a schema error into (key path, problem, fix)."""
    path: KeyPath = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance: Any = error.instance
    if "propertyNames" in error.relative_schema_path:
        name = name_of(path)
        about = schema.get("description", "")
        return (
            (*path, instance),
            f"the name {instance!r} in {name} is not allowed",
            f"rename it: {about}",
        )
    if error.validator in {"additionalProperties", "required"}:
        return _explain_key(error.validator, path, schema, instance, name_of, elsewhere)
    problem, fix = _explain_value(str(error.validator), name_of(path), schema, error.instance)
    return path, problem, fix or f"{error.message}; fix {name_of(path)}"


def _explain_key(
    check: str,
    path: KeyPath,
    schema: Mapping[str, Any],
    instance: Mapping[str, Any],
    name_of: Callable[[KeyPath], str],
    elsewhere: Mapping[str, str],
) -> tuple[KeyPath, str, str]:
    """An unknown or a missing key."""
    props = schema.get("properties", {})
    here = f"under {name_of(path)}" if path else "at the top level"
    if check == "required":
        key = next(k for k in schema["required"] if k not in instance)
        about = props.get(key, {}).get("description", "")
        return (*path, key), f"{name_of((*path, key))} is missing", f"add {key}: {here} ({about})"
    key = next(k for k in instance if k not in props)
    hint = did_you_mean(key, props)
    if not hint and key in elsewhere:
        hint = f"did you mean {elsewhere[key]} (it belongs in another section)? "
    allowed = ", ".join(props)
    return (*path, key), f"unknown key {name_of((*path, key))!r}", f"{hint}allowed keys {here}: {allowed}"


def _explain_value(check: str, name: str, schema: Mapping[str, Any], value: Any) -> tuple[str, str]:
    """A value of the wrong type, outside its range or not among the allowed ones."""
    about = schema.get("description", "")
    options = ", ".join(map(str, schema.get("enum", [])))
    if check == "enum":
        hint = did_you_mean(str(value), map(str, schema["enum"]))
        return f"{name}: {value!r} is not an allowed value", f"{hint}set {name} to one of: {options}"
    if check == "type":
        types = as_list(schema["type"])
        wanted = " or ".join(_TYPE_WORDS.get(t, t) for t in types)
        found = "nothing (the value is empty)" if value is None else repr(value)
        fix = f"set {name} to {f'one of: {options}' if options else wanted} ({about})"
        return f"{name}: expected {wanted} but found {found}", fix
    if check in {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
        return f"{name}: {value!r} is out of range", f"set {name} to a value {_range_text(schema)} ({about})"
    if check == "pattern":
        return f"{name}: {value!r} is not allowed", f"change {name}; expected: {about}"
    if check in {"minLength", "minProperties"}:
        return f"{name} is empty", f"fill in {name}: {about}"
    if check in {"minItems", "maxItems"}:
        return f"{name}: wrong number of items ({len(value)})", f"write {name} as {about}"
    return f"{name}: {value!r} is not allowed", ""


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def first_error(validator: Draft202012Validator, instance: Any) -> ValidationError | None:
    """The first schema error in document order, or None."""
    errors = list(validator.iter_errors(instance))
    return min(errors, key=lambda e: [str(p) for p in e.absolute_path], default=None)


_BOOLEANS = {"true": True, "false": False}


def _typed(text: str, types: list[Any]) -> Any:
    """``text`` as the boolean or number the schema asks for, if it reads as one; else unchanged.

    ``snakemake --config screen='{enabled: false}'`` hands nested values over as text.
    """
    if "boolean" in types and text.lower() in _BOOLEANS:
        return _BOOLEANS[text.lower()]
    if "integer" in types and re.fullmatch(r"[+-]?\d+", text.strip()):
        return int(text)
    if "number" in types and is_number(text):
        return float(text)
    return text


def coerce_text(value: Any, schema: Mapping[str, Any]) -> Any:
    """``value`` with text read as the booleans and numbers its schema asks for (recursively)."""
    if isinstance(value, dict):
        props, extra = schema.get("properties", {}), schema.get("additionalProperties")
        subs = {key: props.get(key, extra if isinstance(extra, dict) else None) for key in value}
        return {key: coerce_text(item, subs[key]) if subs[key] else item for key, item in value.items()}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [coerce_text(item, schema["items"]) for item in value]
    if isinstance(value, str) and "type" in schema:
        return _typed(value, as_list(schema["type"]))
    return value


def fill_defaults(value: Any, schema: Mapping[str, Any]) -> Any:
    """Add schema defaults for missing keys (recursively) and turn 20.0 into 20 for integer keys."""
    if isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, sub in props.items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
        for key in value:
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if sub:
                value[key] = fill_defaults(value[key], sub)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [fill_defaults(item, schema["items"]) for item in value]
    elif schema.get("type") == "integer" and isinstance(value, float):
        return int(value)
    return value
