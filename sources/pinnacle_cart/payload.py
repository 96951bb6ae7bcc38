"""Reply bodies → plain Python: safe XML parsing, and the JSON shape we assume.

XML is parsed with the stdlib's expat directly, refusing any DOCTYPE: with no DOCTYPE no entity can be
declared, so a hostile or broken shop cannot make us expand entities (billion laughs) or fetch external
ones. The replies the doc shows never carry a DOCTYPE. No new dependency is needed for that
(`defusedxml` does the same thing with more code paths we do not use).

Both formats end up in one shape, so one table builder serves both:
- a bare `<Response>5734</Response>` (counts, version) becomes the text `"5734"`;
- `<Response>` with elements becomes a list of `(tag, value)` pairs, one per record (`Customer`,
  `Order`, `Product`, `Category`, ...) or `("Error", "message")`;
- an element with child elements becomes a dict, except the array containers (`AddressBook`,
  `OrderItems`, `Options`, `Children`) which become lists whatever their items are called;
- a leaf becomes its stripped text; an empty leaf becomes `""` (an empty container becomes `[]`).

JSON (the doc gives no example, so this is our assumption, mirroring the XML): a count is a bare number
or string, a list is a JSON array of record objects keyed by the XML element names (nested arrays are
arrays, values are strings or numbers), and an error is an object `{"Error": "message"}`.
"""

from __future__ import annotations

from typing import Any
from xml.parsers import expat

ARRAY_CONTAINERS = frozenset({"AddressBook", "OrderItems", "Options", "Children"})


class PayloadError(ValueError):
    """A reply that is not well-formed, or that tries something a safe parser refuses."""


class _Refused(Exception):
    pass


def parse_xml(body: bytes) -> str | list[tuple[str, Any]]:
    """Return the `<Response>` of an XML reply as text (bare value) or a list of (tag, value) records."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True  # one text callback per element, not one per line
    parser.buffer_size = 1 << 20
    # (tag, children as (tag, value) pairs, text parts)
    stack: list[tuple[str, list[tuple[str, Any]], list[str]]] = []
    result: list[Any] = []

    def refuse(*_: Any) -> Any:
        raise _Refused

    def start(tag: str, _attrs: dict[str, str]) -> None:
        stack.append((tag, [], []))

    def end(_tag: str) -> None:
        tag, children, text = stack.pop()
        if not stack:
            result.append(children if children else "".join(text).strip())
            return
        stack[-1][1].append((tag, _value(tag, children, text)))

    def chars(data: str) -> None:
        if stack:
            stack[-1][2].append(data)

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(body, True)
    except _Refused:
        raise PayloadError("the XML declares a DOCTYPE or entities, which this client refuses") from None
    except expat.ExpatError as exc:
        raise PayloadError(f"malformed XML ({expat.ErrorString(exc.code)} at line {exc.lineno})") from None
    if not result:
        raise PayloadError("the XML has no root element")
    return result[0]  # type: ignore[no-any-return]


def _value(tag: str, children: list[tuple[str, Any]], text: list[str]) -> Any:
    if tag in ARRAY_CONTAINERS:
        return [value for _, value in children]
    if not children:
        return "".join(text).strip()
    out: dict[str, Any] = {}
    for name, value in children:
        if name in out:  # a repeated element outside a known container: keep every one
            previous = out[name]
            out[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[name] = value
    return out


def from_json(body: Any) -> str | list[tuple[str, Any]]:
    """Return a decoded JSON reply in the same shape `parse_xml` gives (see the module docstring)."""
    if isinstance(body, bool) or body is None:
        raise PayloadError(f"unexpected JSON value {body!r}")
    if isinstance(body, int | float | str):
        return str(body).strip()
    if isinstance(body, dict):
        if "Error" in body:
            return [("Error", str(body["Error"]))]
        # A single record, or a wrapper such as {"Customer": [...]}: accept both.
        if len(body) == 1 and isinstance(next(iter(body.values())), list):
            tag, items = next(iter(body.items()))
            return [(tag, _json_record(item)) for item in items]
        return [("Record", _json_record(body))]
    if isinstance(body, list):
        return [("Record", _json_record(item)) for item in body]
    raise PayloadError(f"unexpected JSON value of type {type(body).__name__}")


def _json_record(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_record(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_record(v) for v in value]
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)
