"""The API's OpenAPI document is valid OpenAPI 3.1, by the reference validator.

Runs `switchboard openapi` (the document /api/v1/openapi.json serves) and validates it with
openapi-spec-validator against the OpenAPI 3.1 schema; the Rust test
`the_openapi_document_describes_every_api_route` checks the rules of our own (every route,
unique operation ids, the shared error statuses, enums).

Run:  python3 -m venv .venv && .venv/bin/pip install -r requirements.txt
      .venv/bin/python openapi_check.py ../../target/debug/switchboard
"""

import json
import subprocess
import sys

from openapi_spec_validator import validate


def main():
    out = subprocess.run([sys.argv[1], "openapi"], check=True, capture_output=True, text=True).stdout
    doc = json.loads(out)
    if not doc.get("openapi", "").startswith("3.1"):
        print(f"FAIL: the document says openapi {doc.get('openapi')!r}, expected 3.1.x", file=sys.stderr)
        sys.exit(1)
    validate(doc)
    ops = sum(1 for item in doc["paths"].values() for m in item if m in ("get", "post", "put", "patch", "delete"))
    print(f"OpenAPI {doc['openapi']}: valid, {len(doc['paths'])} paths, {ops} operations")


if __name__ == "__main__":
    main()
