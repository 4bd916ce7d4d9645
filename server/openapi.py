"""The OpenAPI 3 document at /api/openapi.json, generated from the routes' declarations
(each API view declares its body, who may call it and its answers: server.web.Routes).
An answer a route does not model itself is modelled in server.api_models.RESPONSES."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from pydantic import BaseModel

from .api_models import RESPONSES


@dataclass
class RouteDoc:
    rule: str
    method: str
    summary: str
    auth: str  # who may call, in words and role names
    body: Optional[type[BaseModel]] = None
    response: Optional[type[BaseModel]] = None
    status: int = 200
    extra_status: dict = field(default_factory=dict)
    tags: tuple = ()
    query: tuple = ()  # (name, description)


_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def openapi_path(rule: str) -> str:
    return _PARAM.sub(lambda m: "{" + m[2] + "}", rule)


def _schema(model: type[BaseModel], components: dict) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _answer_schema(answer, docs: list[RouteDoc], components: dict) -> dict:
    """A model, the name of a model another route declares, or (that name, a model of the
    fields it adds): server.api_models.RESPONSES."""
    if isinstance(answer, type):
        return _schema(answer, components)
    name, extra = (answer, None) if isinstance(answer, str) else answer
    model = next(d.response for d in docs if d.response is not None and d.response.__name__ == name)
    ref = _schema(model, components)
    return {"allOf": [ref, _schema(extra, components)]} if extra is not None else ref


ERROR_CODES = {400: "Malformed request", 401: "No valid token", 403: "Wrong role",
               404: "Not found", 409: "Refused by the hall's rules", 413: "Too large",
               422: "Invalid fields", 429: "Too many requests (Retry-After)",
               503: "A part of the hall is not available (see the message)"}


def document(docs: list[RouteDoc], title: str, version: str, prefix: str = "/api") -> dict:
    """The OpenAPI 3 document of the given routes (the route keeps it for the process)."""
    components: dict = {"Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["code", "message"],
                                 "properties": {"code": {"type": "string"},
                                                "message": {"type": "string"},
                                                "message_en": {"type": "string"},
                                                "details": {}}}}}}
    paths: dict = {}
    for r in docs:
        path = prefix + openapi_path(r.rule)
        op: dict = {"summary": r.summary, "description": f"Who may call: {r.auth}.",
                    "tags": list(r.tags) or ["hall"],
                    "operationId": f"{r.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}"}
        params = [{"name": m[2], "in": "path", "required": True,
                   "schema": {"type": "integer" if m[1] == "int" else "string"}}
                  for m in _PARAM.finditer(r.rule)]
        params += [{"name": name, "in": "query", "required": False, "description": desc,
                    "schema": {"type": "string"}} for name, desc in r.query]
        if params:
            op["parameters"] = params
        if r.auth != "anyone":
            op["security"] = [{"bearer": []}]
        if r.body is not None:
            op["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": _schema(r.body, components)}}}
        ok: dict = {"description": "OK"}
        answer = r.response or RESPONSES.get((r.method, r.rule))
        if answer is not None:
            ok["content"] = {"application/json": {"schema": _answer_schema(answer, docs, components)}}
        elif r.rule.endswith(".wav"):
            ok["content"] = {"audio/wav": {"schema": {"type": "string", "format": "binary"}}}
        else:  # not modelled yet: tests/test_security_openapi.py fails on a bare object
            ok["content"] = {"application/json": {"schema": {"type": "object"}}}
        responses = {str(r.status): ok}
        for code, text in r.extra_status.items():
            responses[str(code)] = {"description": text}
            if code >= 400:
                responses[str(code)]["content"] = {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for code, text in ERROR_CODES.items():
            if code == 401 and r.auth == "anyone":
                continue
            responses.setdefault(str(code), {"description": text, "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
        op["responses"] = responses
        paths.setdefault(path, {})[r.method.lower()] = op
    return {"openapi": "3.1.0",
            "info": {"title": title, "version": version,
                     "description": "qrate hall API. Times are ISO 8601 with offset. "
                                    "Errors are {\"error\": {\"code\", \"message\"}}."},
            "paths": paths,
            "components": {"schemas": components, "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"}}}}
