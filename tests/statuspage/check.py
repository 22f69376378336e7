"""Checks mimamori's Statuspage-compatible API (tests/it/interop.rs runs it).

usage: check.py BASE_URL WORKDIR

1. Every endpoint, in English and (``?lang=ja``) Japanese, against schema.json (a
   JSON Schema written from Statuspage's published API documentation), times parsed
   as RFC 3339.
2. ``statuspage-prometheus-exporter`` (PyPI, a maintained reader of Statuspage
   summaries) pointed at ``BASE_URL/api/v2/summary.json``: what it makes of the page.

Prints one JSON object: {"validated": [...], "client": {...}}; exits non-zero on
any schema error.
"""

import datetime
import json
import os
import sys
import urllib.request

import jsonschema

ENDPOINTS = [
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
]

base, workdir = sys.argv[1].rstrip("/"), sys.argv[2]
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "schema.json")) as f:
    schema = json.load(f)

formats = jsonschema.FormatChecker()


@formats.checks("date-time", raises=ValueError)
def rfc3339(value):
    if value is None:
        return True
    if "T" not in value or not (value.endswith("Z") or value[-6] in "+-"):
        raise ValueError(f"not RFC 3339 with an offset: {value}")
    datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


validated = []
errors = []
for name in ENDPOINTS:
    for query in ("", "?lang=ja"):
        url = f"{base}/api/v2/{name}{query}"
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
        sub = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/" + name.replace("/", "~1")}
        v = jsonschema.Draft202012Validator(sub, format_checker=formats)
        errs = sorted(v.iter_errors(body), key=lambda e: list(e.absolute_path))
        for e in errs:
            errors.append(f"{url}: {'/'.join(map(str, e.absolute_path))}: {e.message}")
        validated.append(url)

# The exporter reads services.json and keeps a cache in the working directory.
os.chdir(workdir)
with open("services.json", "w") as f:
    json.dump({"mimamori": {"url": f"{base}/api/v2/summary.json", "name": "mimamori"}}, f)
os.environ["SERVICES_JSON_PATH"] = os.path.join(workdir, "services.json")
from statuspage_prometheus_exporter import service_checker  # noqa: E402

result = service_checker.check_status_page_service(
    "mimamori", service_checker.SERVICES["mimamori"]
)
result.pop("response_time", None)
print(json.dumps({"validated": validated, "errors": errors, "client": result}, ensure_ascii=False))
sys.exit(1 if errors else 0)
