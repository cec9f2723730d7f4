"""openapi/keypaird.yaml checked against Gcore's own OpenAPI files, and as Prism reads it.

1. Wire equivalence: every Gcore route is in keypaird.yaml with the same method, parameters,
   success statuses, security, deprecation and — $refs resolved — request and success
   response bodies. Bodies are compared after a small recursive normaliser (`normalise`)
   has reduced both sides to the keywords that decide what goes over the wire, so the two
   files may word and structure things differently (own descriptions, `type: [X, 'null']`
   for Gcore's `anyOf: [X, null]`, shared $ref'd pieces) but not disagree.
2. The comparator's own tests: it sees equal wires as equal and catches each kind of drift.
3. Prism: it loads keypaird.yaml without complaint, refuses a broken copy, and accepts the
   real server's error answers (and the Operations endpoints) against what the file says.

conftest.py collects this module only where Gcore's files are (../shared/spec/ next to the
repository, as in CI, or KEYPAIRD_SHARED_SPEC_DIR); elsewhere it is left out of the
collection entirely rather than skipped.
"""

import copy
import json
import re
import subprocess
import time
import uuid

import pytest
import yaml

from conftest import (GCORE_SPEC_DIR, OPENAPI_SPEC, PRISM, Prism, Server, free_port, request,
                      unique_name)

GCORE_FILES = ("ssh-keys.yaml", "keypairs-v1.yaml")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


MINE = load(OPENAPI_SPEC)
GCORE = {name: load(GCORE_SPEC_DIR / name) for name in GCORE_FILES}


# --- the normaliser ------------------------------------------------------------------

# Keywords that document but do not constrain.
ANNOTATIONS = {"title", "description", "summary", "example", "examples", "deprecated",
               "readOnly", "writeOnly", "$comment", "externalDocs"}
# Keywords compared as they are.
VALUE_KEYWORDS = {"format", "pattern", "const", "minLength", "maxLength", "minimum", "maximum",
                  "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minItems", "maxItems",
                  "uniqueItems", "minProperties", "maxProperties"}
NULL = {"type": ["null"]}


def pointer(doc, ref):
    if not ref.startswith("#/"):
        raise ValueError(f"only local $refs are supported, not {ref!r}")
    node = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def deref(doc, node):
    """`node` with its $ref chain followed. Keywords beside a $ref apply too (OpenAPI 3.1);
    annotations beside it win, a constraint that contradicts the target is refused."""
    while isinstance(node, dict) and "$ref" in node:
        merged = dict(pointer(doc, node["$ref"]))
        for key, value in node.items():
            if key == "$ref":
                continue
            if key in merged and merged[key] != value and key not in ANNOTATIONS:
                raise ValueError(f"{key!r} beside $ref {node['$ref']} contradicts the target")
            merged[key] = value
        node = merged
    return node


def merge(into, other, where):
    """Adds the normalised keywords of `other` to `into` (both constrain the same value)."""
    for key, value in other.items():
        if key == "type" and "type" in into:
            into["type"] = sorted(set(into["type"]) & set(value))
        elif key == "required" and "required" in into:
            into["required"] = sorted(set(into["required"]) | set(value))
        elif key == "properties" and "properties" in into:
            for name, schema in value.items():
                if into["properties"].setdefault(name, schema) != schema:
                    raise ValueError(f"{where}: two different schemas for property {name!r}")
        elif key in into and into[key] != value:
            raise ValueError(f"{where}: conflicting {key!r}: {into[key]!r} and {value!r}")
        else:
            into[key] = value


def normalise(doc, schema, defaults=True, where="$"):
    """A canonical form of `schema`: $refs resolved, annotations dropped, types as a sorted
    list with "null" in it for nullable values (however written), `required` and `enum`
    sorted, and what JSON Schema leaves implicit spelled out (an object without
    `additionalProperties` allows any). `default` is kept only when `defaults` (it matters
    for requests and parameters, not in answers). Keywords it does not know are an error
    rather than silently ignored."""
    s = deref(doc, schema)
    out, types = {}, set()
    for key, value in s.items():
        here = f"{where}.{key}"
        if key in ANNOTATIONS or key.startswith("x-"):
            continue
        if key == "default":
            if defaults:
                out["default"] = value
        elif key == "type":
            types |= {value} if isinstance(value, str) else set(value)
        elif key in ("anyOf", "oneOf"):
            branches = [normalise(doc, b, defaults, f"{here}[{i}]") for i, b in enumerate(value)]
            rest = [b for b in branches if b != NULL]
            if len(branches) == 2 and len(rest) == 1:  # "X or null": X, with null as a type
                nullable = dict(rest[0])
                types |= set(nullable.pop("type", [])) | {"null"}
                merge(out, nullable, here)
            else:
                out[key] = sorted(branches, key=repr)
        elif key == "allOf":
            parts = [normalise(doc, b, defaults, f"{here}[{i}]") for i, b in enumerate(value)]
            for part in parts:
                closed = part.get("additionalProperties") is False
                names = set(part.get("properties", {}))
                if closed and any(set(p.get("properties", {})) - names for p in parts):
                    raise ValueError(f"{here}: additionalProperties: false in an allOf part "
                                     "that others add properties to is not a plain merge")
            for part in parts:
                part_types = part.pop("type", None)
                if part_types is not None:
                    types = (types & set(part_types)) if types else set(part_types)
                merge(out, part, here)
        elif key == "properties":
            out[key] = {name: normalise(doc, v, defaults, f"{here}.{name}")
                        for name, v in value.items()}
        elif key in ("items", "not"):
            out[key] = normalise(doc, value, defaults, here)
        elif key == "additionalProperties":
            out[key] = value if isinstance(value, bool) else normalise(doc, value, defaults, here)
        elif key == "required":
            out[key] = sorted(set(value))
        elif key == "enum":
            out[key] = sorted(value, key=repr)
        elif key in VALUE_KEYWORDS:
            out[key] = value
        else:
            raise ValueError(f"{here}: the normaliser does not know the keyword {key!r}")
    if types:
        out["type"] = sorted(types | set(out.pop("type", [])))
    if "object" in out.get("type", []) or "properties" in out:
        out.setdefault("properties", {})
        out.setdefault("required", [])
        out.setdefault("additionalProperties", True)
    return out


# --- operations ----------------------------------------------------------------------

PARAMETER_KEYS = {"name", "in", "required", "schema", "deprecated", "style", "explode",
                  "allowEmptyValue", "allowReserved"} | ANNOTATIONS


def security_of(doc, op):
    """The operation's security requirements, each as the sorted (type, in, name, scopes)
    of its schemes (scheme names are local to a file and not compared)."""
    schemes = doc.get("components", {}).get("securitySchemes", {})
    requirements = []
    for requirement in op.get("security", doc.get("security", [])):
        requirements.append(sorted(
            (schemes[name]["type"], schemes[name].get("in"), schemes[name].get("name"),
             tuple(scopes)) for name, scopes in requirement.items()))
    return sorted(requirements)


def operation_shape(doc, path, method):
    """What a client on the wire sees of one operation, normalised."""
    item = doc["paths"][path]
    op = item[method]
    parameters = {}
    for raw in item.get("parameters", []) + op.get("parameters", []):  # op's win
        p = deref(doc, raw)
        unknown = set(p) - PARAMETER_KEYS
        if unknown:
            raise ValueError(f"{method} {path}: parameter keys not compared: {unknown}")
        parameters[f"{p['in']}:{p['name']}"] = {
            "required": p.get("required", False),
            "deprecated": p.get("deprecated", False),
            "style": p.get("style"), "explode": p.get("explode"),
            "schema": normalise(doc, p["schema"], where=f"{p['in']}:{p['name']}")}
    request = None
    if "requestBody" in op:
        # Only the bodies are compared, not requestBody.required: keypaird marks its bodies
        # required (a request without one is 415 or 400); Gcore's files leave the flag out,
        # though each of their bodies has required fields.
        body = deref(doc, op["requestBody"])
        request = {media: normalise(doc, m.get("schema", {}), where=f"request {media}")
                   for media, m in body.get("content", {}).items()}
    success = {}
    for status, raw in op.get("responses", {}).items():
        if str(status).startswith("2"):
            response = deref(doc, raw)
            success[str(status)] = {
                media: normalise(doc, m.get("schema", {}), defaults=False,
                                 where=f"{status} {media}")
                for media, m in response.get("content", {}).items()}
    return {"parameters": parameters, "request body": request, "success responses": success,
            "security": security_of(doc, op), "deprecated": op.get("deprecated", False)}


def differences(mine, theirs, where="$"):
    """Readable differences between two normalised values: empty when they are equal."""
    if isinstance(mine, dict) and isinstance(theirs, dict):
        found = []
        for key in sorted(set(mine) | set(theirs), key=str):
            if key not in theirs:
                found.append(f"{where}.{key}: only in keypaird.yaml: {mine[key]!r}")
            elif key not in mine:
                found.append(f"{where}.{key}: only in Gcore's: {theirs[key]!r}")
            else:
                found += differences(mine[key], theirs[key], f"{where}.{key}")
        return found
    return [] if mine == theirs else [f"{where}: keypaird.yaml {mine!r}, Gcore's {theirs!r}"]


def operations(doc, prefix=""):
    return sorted((path, method) for path, item in doc["paths"].items()
                  if path.startswith(prefix) for method in item if method in METHODS)


def compare(mine, gcore, path, method):
    if path not in mine["paths"] or method not in mine["paths"][path]:
        return [f"{method.upper()} {path}: not in keypaird.yaml"]
    return differences(operation_shape(mine, path, method), operation_shape(gcore, path, method),
                       f"{method.upper()} {path}")


# --- 1. wire equivalence with Gcore's files ------------------------------------------

# Gcore's audit log route is not in Gcore's SSH Keys files: keypaird describes it from its
# own contract (the audit trail's field list) and tests it through Prism (test_audit.py).
NOT_IN_GCORES_FILES = {("/cloud/v1/user_actions", "get")}


def test_the_gcore_routes_are_exactly_gcores():
    theirs = set()
    for doc in GCORE.values():
        theirs |= set(operations(doc))
    assert set(operations(MINE, "/cloud/")) == theirs | NOT_IN_GCORES_FILES


@pytest.mark.parametrize("name,path,method", [
    (name, path, method) for name in GCORE_FILES for path, method in operations(GCORE[name])])
def test_each_gcore_operation_is_described_wire_equivalently(name, path, method):
    assert compare(MINE, GCORE[name], path, method) == []


def test_every_operation_is_tagged_named_and_every_ref_resolves():
    declared = {t["name"] for t in MINE["tags"]}
    ids = []
    for path, method in operations(MINE):
        op = MINE["paths"][path][method]
        ids.append(op["operationId"])
        assert len(op["tags"]) == 1 and op["tags"][0] in declared, (method, path)
        assert op["tags"][0].startswith("Gcore ") == path.startswith("/cloud/")
    assert len(ids) == len(set(ids)), "operationIds must be unique"

    def walk(node, where):
        if isinstance(node, dict):
            if "$ref" in node:
                try:
                    pointer(MINE, node["$ref"])
                except (KeyError, TypeError):
                    pytest.fail(f"{where}: $ref {node['$ref']} points nowhere")
            for k, v in node.items():
                walk(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}/{i}")
    walk(MINE, "#")


# --- 2. the comparator itself --------------------------------------------------------

SSH_KEY = ("/cloud/v1/ssh_keys/{project_id}/{ssh_key_id}", "get")
SSH_LIST = ("/cloud/v1/ssh_keys/{project_id}", "get")
SSH_CREATE = ("/cloud/v1/ssh_keys/{project_id}", "post")
V1_GET = ("/cloud/v1/keypairs/{project_id}/{region_id}/{keypair_id}", "get")
V2_CREATE = ("/cloud/v2/keypairs", "post")


def schemas(doc):
    return doc["components"]["schemas"]


DRIFTS = {
    "a required field removed": (
        lambda d: schemas(d)["SshKey"]["required"].remove("fingerprint"), SSH_KEY,
        "200.application/json.required"),
    "a type changed": (
        lambda d: schemas(d)["SshKey"]["properties"]["shared_in_project"].update(
            {"$ref": "#/components/schemas/KeyName"}), SSH_KEY, "properties.shared_in_project"),
    "nullability dropped": (
        lambda d: schemas(d)["Keypair"]["properties"]["project_id"].update(type="integer"),
        V1_GET, "properties.project_id.type"),
    "additionalProperties flipped": (
        lambda d: schemas(d)["SshKey"].pop("additionalProperties"), SSH_KEY,
        "application/json.additionalProperties"),
    "a property added": (
        lambda d: schemas(d)["SshKey"]["properties"].update(owner={"type": "integer"}), SSH_KEY,
        "properties.owner: only in keypaird.yaml"),
    "an enum value dropped": (
        lambda d: schemas(d)["KeyState"]["enum"].remove("DELETING"), SSH_KEY,
        "properties.state.enum"),
    "a pattern changed": (
        lambda d: schemas(d)["KeyName"].update(pattern="^.+$"), SSH_CREATE, "name.pattern"),
    "a parameter bound changed": (
        lambda d: d["components"]["parameters"]["Limit"]["schema"].update(maximum=500),
        SSH_LIST, "query:limit.schema.maximum"),
    "a parameter made required": (
        lambda d: d["components"]["parameters"]["Offset"].update(required=True), SSH_LIST,
        "query:offset.required"),
    "a request field made required": (
        lambda d: schemas(d)["KeypairCreateV2"]["allOf"][1]["required"].append("public_key"),
        V2_CREATE, "request body.application/json.required"),
    "a request default changed": (
        lambda d: schemas(d)["SshKeyCreate"]["properties"]["shared_in_project"].update(
            default=False), SSH_CREATE, "shared_in_project.default"),
    "a success status changed": (
        lambda d: d["paths"][SSH_CREATE[0]]["post"]["responses"].update(
            {"200": d["paths"][SSH_CREATE[0]]["post"]["responses"].pop("201")}), SSH_CREATE,
        "success responses.200"),
    "security dropped": (
        lambda d: d["paths"][SSH_LIST[0]]["get"].update(security=[]), SSH_LIST, "security"),
}


@pytest.mark.parametrize("drift", sorted(DRIFTS))
def test_the_comparator_catches_drift(drift):
    mutate, (path, method), expected = DRIFTS[drift]
    assert compare(MINE, GCORE["ssh-keys.yaml"], path, method) == []
    drifted = copy.deepcopy(MINE)
    mutate(drifted)
    found = compare(drifted, GCORE["ssh-keys.yaml"], path, method)
    assert found, f"{drift}: not caught"
    assert any(expected in line for line in found), found


def test_the_normaliser_sees_one_wire_through_different_spellings():
    doc = {"components": {"schemas": {
        "Name": {"type": "string", "pattern": "^a$", "description": "one wording"}}}}
    spellings = [
        {"anyOf": [{"type": "string", "pattern": "^a$"}, {"type": "null"}], "title": "T"},
        {"type": ["null", "string"], "pattern": "^a$", "examples": ["a"]},
        {"anyOf": [{"$ref": "#/components/schemas/Name"}, {"type": "null"}]},
        {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Name", "description": "x"}]},
    ]
    forms = [normalise(doc, s) for s in spellings]
    assert all(f == forms[0] for f in forms), forms
    assert forms[0] == {"type": ["null", "string"], "pattern": "^a$"}
    # An object's implicit defaults are spelled out; allOf parts merge.
    merged = normalise(doc, {"allOf": [
        {"type": "object", "required": ["b"], "properties": {"b": {"type": "integer"}}},
        {"required": ["a"], "properties": {"a": {"$ref": "#/components/schemas/Name"}}}]})
    assert merged == {"type": ["object"], "required": ["a", "b"], "additionalProperties": True,
                      "properties": {"a": {"type": ["string"], "pattern": "^a$"},
                                     "b": {"type": ["integer"]}}}


def test_the_normaliser_refuses_what_it_cannot_compare():
    with pytest.raises(ValueError, match="does not know"):
        normalise({}, {"type": "object", "if": {"required": ["a"]}})
    with pytest.raises(ValueError, match="not a plain merge"):
        normalise({}, {"allOf": [{"properties": {"a": {}}, "additionalProperties": False},
                                 {"properties": {"b": {}}}]})


# --- 3. keypaird.yaml as Prism sees it -----------------------------------------------

def startup_lines(log_path, timeout=15.0):
    """Prism's log up to the line that says it listens (its log lags behind its port)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = []
        for line in log_path.read_text(errors="replace").splitlines():
            lines.append(line)
            if "Prism is listening" in line:
                return lines
        if time.monotonic() > deadline:
            raise AssertionError("Prism never said it listens:\n" + "\n".join(lines))
        time.sleep(0.1)


CLI_LINE = re.compile(r"^\[[^\]]*\] › \[CLI\] \S+\s+(?P<level>\w+)\s+(?P<text>.*)$")


def test_prism_loads_the_spec_without_complaint(prism):
    lines = startup_lines(prism.log_path)
    parsed = [CLI_LINE.match(line) for line in lines]
    complaints = [line for line, m in zip(lines, parsed)
                  if m is None or m["level"] not in ("awaiting", "info", "start")]
    assert complaints == []
    # As it starts, Prism lists each operation it serves (with made-up parameter values):
    # every operation of the file, each once.
    served = sorted(tuple(m["text"].split()) for m in parsed if m["level"] == "info")
    wanted = []
    for path, method in operations(MINE):
        template = re.escape(path).replace(r"\{", "{").replace(r"\}", "}")
        wanted.append((method.upper(), re.compile(
            # Required query parameters come after a '?'.
            "^http://127.0.0.1:%d%s(\\?.*)?$" % (prism.port,
                                                  re.sub(r"\{[^}]+\}", "[^/?]*", template)))))
    for method, url in served:
        matching = [w for w in wanted if w[0] == method and w[1].match(url)]
        assert len(matching) == 1, (method, url, matching)
        wanted.remove(matching[0])
    assert wanted == [], "operations Prism does not serve"


def test_prism_refuses_a_broken_copy_of_the_spec(tmp_path):
    """The check above means something: Prism does stop, at once, on a bad document."""
    broken = tmp_path / "broken.yaml"
    broken.write_text(OPENAPI_SPEC.read_text().replace(
        "#/components/schemas/SshKeyList", "#/components/schemas/NoSuchSchema"))
    r = subprocess.run([str(PRISM), "mock", str(broken), "--host", "127.0.0.1",
                        "--port", str(free_port())], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "fatal" in r.stdout + r.stderr and "NoSuchSchema" in r.stdout + r.stderr


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """A server with a region list and a rate limit (so that 404 for a region and 429 can
    happen), Prism over keypaird.yaml in front of it, and tokens."""
    d = tmp_path_factory.mktemp("openapi")
    s = Server(d).start("--regions", "1,76", "--rate-limit", "0.2", "--rate-burst", "40")
    p = Prism(OPENAPI_SPEC, s.port, d)
    yield s, p, {"user1": s.token(1, [1, 2]), "user2": s.token(2, [1]),
                 "limited": s.token(3, [1])}
    p.stop()
    s.stop()


def response_violations(r):
    return [v for v in json.loads(r.header("sl-violations") or "[]")
            if v["location"][0] == "response"]


def test_real_error_answers_are_what_the_spec_says(checked):
    """Each error keypaird can be made to give here, through Prism: the status must be one
    the operation lists and the body and headers what that answer describes. (405 cannot be
    checked this way: for a method a path does not list Prism has no operation to check
    against. 500 and 503 need a broken or unreachable database; their body is the same
    Error schema as the ones checked here.)"""
    server, prism, tok = checked
    u1, u2 = tok["user1"], tok["user2"]
    name = unique_name("oas")
    kid = request(server.port, "POST", "/cloud/v1/ssh_keys/1", {"name": name}, u1).json()["id"]
    unknown = str(uuid.uuid4())
    cases = [
        # (method, path, JSON body, token, extra request arguments, status, exception_class)
        ("POST", "/cloud/v1/ssh_keys/1", {"nam": "x"}, u1, {}, 400, "ValidationError"),
        ("POST", "/cloud/v1/keypairs/1/1", {"sshkey_name": "-bad"}, u1, {}, 400,
         "ValidationError"),
        ("POST", "/cloud/v2/keypairs", {"sshkey_name": unique_name(), "project_id": 1,
                                        "public_key": "ssh-dss AAAAB3NzaC1kc3M="}, u1, {}, 400,
         "ValidationError"),
        ("POST", "/cloud/v1/keypairs/1/1", None, u1, {"raw_body": b"[1, 2]"}, 400,
         "ValidationError"),
        ("GET", "/cloud/v1/ssh_keys/1?limit=0", None, u1, {}, 400, "ValidationError"),
        ("GET", "/cloud/v1/ssh_keys/1?order_by=size", None, u1, {}, 400, "ValidationError"),
        ("GET", "/cloud/v1/ssh_keys/1/not-a-uuid", None, u1, {}, 400, "ValidationError"),
        ("GET", "/cloud/v1/keypairs/0/1", None, u1, {}, 400, "ValidationError"),
        ("GET", "/cloud/v2/keypairs", None, u1, {}, 400, "ValidationError"),
        ("DELETE", "/cloud/v2/keypairs/x?project_id=-1", None, u1, {}, 400, "ValidationError"),
        ("PATCH", f"/cloud/v1/ssh_keys/1/{kid}", {"shared_in_project": "yes"}, u1, {}, 400,
         "ValidationError"),
        ("GET", "/cloud/v1/ssh_keys/1", None, None, {}, 401, "NotAuthenticated"),
        ("DELETE", f"/cloud/v1/ssh_keys/1/{kid}", None, "kpd_0_0", {}, 401, "NotAuthenticated"),
        ("GET", "/cloud/v1/ssh_keys/3", None, u1, {}, 403, "ForbiddenError"),
        ("POST", "/cloud/v2/keypairs", {"sshkey_name": unique_name(), "project_id": 2}, u2, {},
         403, "ForbiddenError"),
        ("DELETE", f"/cloud/v1/keypairs/1/1/{kid}", None, u2, {}, 403, "ForbiddenError"),
        ("PATCH", f"/cloud/v1/keypairs/1/76/{name}/share", {"shared_in_project": False}, u2, {},
         403, "ForbiddenError"),
        ("GET", f"/cloud/v1/ssh_keys/1/{unknown}", None, u1, {}, 404, "NotFoundError"),
        ("GET", "/cloud/v1/keypairs/1/1/no-such-key", None, u1, {}, 404, "NotFoundError"),
        ("GET", "/cloud/v2/keypairs/no-such-key?project_id=1", None, u1, {}, 404,
         "NotFoundError"),
        ("DELETE", f"/cloud/v2/keypairs/{unknown}", None, u1, {}, 404, "NotFoundError"),
        ("GET", "/cloud/v1/keypairs/1/2", None, u1, {}, 404, "NotFoundError"),
        ("POST", "/cloud/v1/keypairs/1/2", {"sshkey_name": unique_name()}, u1, {}, 404,
         "NotFoundError"),
        ("POST", "/cloud/v1/ssh_keys/1", {"name": name}, u1, {}, 409, "ConflictError"),
        ("POST", "/cloud/v1/keypairs/1/76", {"sshkey_name": name}, u1, {}, 409,
         "ConflictError"),
        ("POST", "/cloud/v1/ssh_keys/1", {"name": "x" * 70000}, u1, {}, 413, "PayloadTooLarge"),
        ("PATCH", f"/cloud/v1/ssh_keys/1/{kid}", {"shared_in_project": True, "x": "y" * 70000},
         u1, {}, 413, "PayloadTooLarge"),
        ("POST", "/cloud/v1/ssh_keys/1", None, u1,
         {"raw_body": b'{"name": "abc"}', "content_type": "text/plain"}, 415,
         "UnsupportedMediaType"),
        ("PATCH", f"/cloud/v1/keypairs/1/1/{kid}/share", None, u1,
         {"raw_body": b'{"shared_in_project": true}', "content_type": None}, 415,
         "UnsupportedMediaType"),
    ]
    # The "limited" token's burst is used up directly, just before its call through Prism.
    cases.append(("GET", "/cloud/v1/ssh_keys/1", None, tok["limited"], {}, 429,
                  "RateLimitError"))

    seen = set()
    for method, path, body, token, extra, status, exception_class in cases:
        if status == 429:
            while request(server.port, method, path, token=token).status != 429:
                pass
        r = request(prism.port, method, path, body, token, **extra)
        assert (r.status, r.json().get("exception_class")) == (status, exception_class), \
            (method, path, r)
        assert r.header("X-Request-ID") == r.json()["request_id"]  # keypaird's, not Prism's
        assert response_violations(r) == [], (method, path, r)
        seen.add(status)
    assert seen == {400, 401, 403, 404, 409, 413, 415, 429}


def test_operations_endpoints_answer_what_the_spec_says(checked):
    _, prism, _ = checked
    for path, content_type in (("/healthz", "application/json"), ("/readyz", "application/json"),
                               ("/metrics", "text/plain")):
        r = request(prism.port, "GET", path)
        assert r.status == 200, (path, r)
        assert r.header("Content-Type").startswith(content_type)
        assert response_violations(r) == [], (path, r)
        assert r.header("sl-violations") is None, (path, r)  # no request violation either
