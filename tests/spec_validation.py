"""Validate recorded HTTP exchanges against a vendor OpenAPI document (JSON Schema 2020-12)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT202012


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@dataclass
class SpecChecker:
    """Finds the operation of a request in the spec and checks the response body."""

    spec: dict[str, Any]
    prefix: str  # the URL path prefix the spec's paths sit under, e.g. /ens/service
    uri: str = "urn:spec"
    draft4: bool = False
    checked: set[tuple[str, str, int]] = field(default_factory=set)
    tolerated: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        spec_kind = DRAFT4 if self.draft4 else DRAFT202012
        self.registry = Registry().with_resource(self.uri, Resource.from_contents(self.spec, spec_kind))
        templates = []
        for template in self.spec["paths"]:
            escaped = re.escape(template).replace(r"\{", "{").replace(r"\}", "}")
            pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", escaped) + "$"
            templates.append((template.count("{"), template, re.compile(pattern)))
        self.templates = sorted(templates)

    def template_for(self, path: str) -> str | None:
        rest = path[len(self.prefix):] if path.startswith(self.prefix) else None
        if rest is None:
            return None
        for _, template, pattern in self.templates:
            if pattern.match(rest):
                return template
        return None

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            pointer = node["$ref"].lstrip("#")
            target: Any = self.spec
            for part in pointer.strip("/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def response_schema_pointer(self, method: str, template: str, status: int) -> str | None:
        operation = self.spec["paths"][template].get(method.lower())
        if operation is None:
            return None
        responses = operation.get("responses", {})
        key = str(status) if str(status) in responses else ("default" if "default" in responses else None)
        if key is None:
            return None
        response = responses[key]
        base = f"/paths/{_escape(template)}/{method.lower()}/responses/{key}"
        if "$ref" in response:
            base = response["$ref"].lstrip("#")
            response = self._resolve(response)
        content = response.get("content", {})
        for media in content:
            if "json" in media and "schema" in content[media]:
                return f"{base}/content/{_escape(media)}/schema"
        if "schema" in response:  # OpenAPI 2 style
            return f"{base}/schema"
        return None

    def _validator(self, pointer: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": f"{self.uri}#{pointer}"}, registry=self.registry)

    @staticmethod
    def _key(error: Any) -> str:
        return error.validator + ":" + json.dumps(error.schema, sort_keys=True, default=str)

    def example_defects(self) -> set[str]:
        """Violations that the spec's own response examples commit (a defect of the spec).

        Keyed by the violated sub-schema and keyword, so a sandbox response is excused
        only where the vendor's example breaks the very same rule.
        """
        if hasattr(self, "_defects"):
            return self._defects
        defects: set[str] = set()
        for template, operations in self.spec["paths"].items():
            for method, operation in operations.items():
                if not isinstance(operation, dict):
                    continue
                for status in operation.get("responses", {}):
                    if not status.isdigit():
                        continue
                    pointer = self.response_schema_pointer(method, template, int(status))
                    if pointer is None:
                        continue
                    response = self._resolve(operation["responses"][status])
                    for media in response.get("content", {}).values():
                        examples = [media["example"]] if "example" in media else []
                        examples += [self._resolve(e).get("value") for e in media.get("examples", {}).values()]
                        schema = self._resolve({"$ref": "#" + pointer})
                        examples += list(schema.get("examples", []))
                        if "example" in schema:
                            examples.append(schema["example"])
                        for example in examples:
                            if example is None:
                                continue
                            for error in self._validator(pointer).iter_errors(example):
                                defects.add(self._key(error))
        self._defects = defects
        return defects

    def errors(self, request: httpx.Request, response: httpx.Response) -> list[str]:
        """Problems with one exchange ([] when it conforms)."""
        template = self.template_for(request.url.path)
        where = f"{request.method} {request.url.path} -> {response.status_code}"
        if template is None:
            return [f"{where}: no such path in the spec"]
        operation = self.spec["paths"][template].get(request.method.lower())
        if operation is None:
            return [f"{where}: method not in the spec"]
        pointer = self.response_schema_pointer(request.method, template, response.status_code)
        if pointer is None:
            return []  # status without a JSON schema in the spec: the caller checks it
        body = response.json()
        self.checked.add((request.method, template, response.status_code))
        problems = []
        for error in self._validator(pointer).iter_errors(body):
            text = f"{where}: {error.message} at {list(error.absolute_path)}"
            if self._key(error) in self.example_defects():
                self.tolerated.append(text)
            else:
                problems.append(text)
        return problems

    def all_errors(self, exchanges: Iterable[tuple[httpx.Request, httpx.Response]]) -> list[str]:
        problems: list[str] = []
        for request, response in exchanges:
            problems.extend(self.errors(request, response))
        return problems
