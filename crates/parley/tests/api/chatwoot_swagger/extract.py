#!/usr/bin/env python3
"""Extracts the request shapes of Chatwoot's Application and Client APIs from Chatwoot's
published OpenAPI document (`swagger/swagger.json` of chatwoot/chatwoot) into
`requests.json`, the fixture `chatwoot_swagger.rs` drives Parley with.

Only data is kept: for each operation its method, its path, the JSON types of its required
query parameters and of its request body (property names, types, enums, formats, the
spec's example for strings). References are resolved, `allOf` merged, `oneOf`/`anyOf`
reduced to their first branch. Run it again when Chatwoot's document changes:

    python3 extract.py path/to/swagger.json "chatwoot/chatwoot@<commit>" > requests.json
"""

import json
import sys

PREFIXES = ("/api/v1/accounts/", "/public/api/v1/")
METHODS = ("get", "post", "put", "patch", "delete")


def resolve(doc, node, depth=0):
    """Follows `$ref`s and merges `allOf`, returning a plain schema."""
    if depth > 20:
        raise SystemExit("schema nests too deep")
    if not isinstance(node, dict):
        return {}
    if "$ref" in node:
        target = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return resolve(doc, target, depth + 1)
    if "allOf" in node:
        merged = {"type": "object", "properties": {}, "required": []}
        for branch in node["allOf"]:
            b = resolve(doc, branch, depth + 1)
            merged["properties"].update(b.get("properties", {}))
            merged["required"] += b.get("required", [])
        return merged
    for key in ("oneOf", "anyOf"):
        if key in node and node[key]:
            return resolve(doc, node[key][0], depth + 1)
    return node


def compact(doc, node, depth=0):
    """A schema reduced to what a request body needs: type, enum, format, example."""
    s = resolve(doc, node, depth)
    t = s.get("type")
    if isinstance(t, list):  # OpenAPI 3.1 `["string", "null"]`
        t = next((x for x in t if x != "null"), "string")
    if t is None:
        t = "object" if "properties" in s else "string"
    out = {"t": t}
    if t == "object":
        props = {}
        for name, sub in (s.get("properties") or {}).items():
            sub_r = resolve(doc, sub, depth + 1)
            if sub_r.get("readOnly"):
                continue
            props[name] = compact(doc, sub, depth + 1)
        out["props"] = props
        req = [r for r in s.get("required", []) if r in props]
        if req:
            out["req"] = req
    elif t == "array":
        out["items"] = compact(doc, s.get("items") or {}, depth + 1)
    else:
        if s.get("enum"):
            out["enum"] = s["enum"]
        if s.get("format"):
            out["format"] = s["format"]
        if t == "string" and isinstance(s.get("example"), str):
            out["example"] = s["example"]
    return out


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = json.load(f)
    ops = []
    for path, item in doc["paths"].items():
        if not path.startswith(PREFIXES):
            continue
        shared = item.get("parameters", [])
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            query = {}
            for p in shared + op.get("parameters", []):
                p = resolve(doc, p)
                if p.get("in") == "query" and p.get("required"):
                    query[p["name"]] = compact(doc, p.get("schema") or {})
            entry = {"method": method.upper(), "path": path}
            if query:
                entry["query"] = query
            body = (op.get("requestBody") or {}).get("content") or {}
            if "application/json" in body:
                entry["body"] = compact(doc, body["application/json"].get("schema") or {})
            elif body:
                entry["content_type"] = sorted(body)[0]
            ops.append(entry)
    ops.sort(key=lambda o: (o["path"], METHODS.index(o["method"].lower())))
    out = sys.stdout
    out.write('{\n  "source": %s,\n  "operations": [\n' % json.dumps(sys.argv[2]))
    out.write(",\n".join("    " + json.dumps(o, ensure_ascii=False) for o in ops))
    out.write("\n  ]\n}\n")


if __name__ == "__main__":
    main()
