"""Checks OpenSLO v1 documents (tests/it/interop.rs runs it).

usage: check.py FILE...

Each document against schema.json (written from the OpenSLO v1 specification),
then the references between them: names unique per kind, every `service`,
`indicatorRef`, `alertPolicyRef`, `conditionRef`, `targetRef` and
`metricSourceRef` naming a document of the right kind. Prints
{"documents": {kind: count}, "errors": [...]} and exits non-zero on any error.
"""

import collections
import json
import os
import sys

import jsonschema
import yaml

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "schema.json")) as f:
    validator = jsonschema.Draft202012Validator(json.load(f))

docs = []
for path in sys.argv[1:]:
    with open(path) as f:
        docs += [(path, d) for d in yaml.safe_load_all(f) if d is not None]

errors = []
names = collections.defaultdict(set)
for path, d in docs:
    for e in validator.iter_errors(d):
        where = "/".join(map(str, e.absolute_path))
        errors.append(f"{path}: {d.get('kind')} {d.get('metadata', {}).get('name')}: {where}: {e.message}")
    kind, name = d.get("kind"), d.get("metadata", {}).get("name")
    if name in names[kind]:
        errors.append(f"{path}: two {kind} named {name}")
    names[kind].add(name)


def ref(path, d, kind, name):
    if name not in names[kind]:
        errors.append(f"{path}: {d['kind']} {d['metadata']['name']} refers to a missing {kind} {name!r}")


for path, d in docs:
    spec = d.get("spec", {})
    if d.get("kind") == "SLO":
        ref(path, d, "Service", spec.get("service"))
        if "indicatorRef" in spec:
            ref(path, d, "SLI", spec["indicatorRef"])
        for p in spec.get("alertPolicies", []):
            if "alertPolicyRef" in p:
                ref(path, d, "AlertPolicy", p["alertPolicyRef"])
    if d.get("kind") == "SLI":
        for part in ("good", "bad", "total", "raw"):
            src = spec.get("ratioMetric", {}).get(part, {}).get("metricSource", {})
            if "metricSourceRef" in src:
                ref(path, d, "DataSource", src["metricSourceRef"])
    if d.get("kind") == "AlertPolicy":
        for c in spec.get("conditions", []):
            if "conditionRef" in c:
                ref(path, d, "AlertCondition", c["conditionRef"])
        for t in spec.get("notificationTargets", []):
            if "targetRef" in t:
                ref(path, d, "AlertNotificationTarget", t["targetRef"])

count = collections.Counter(d.get("kind") for _, d in docs)
print(json.dumps({"documents": dict(count), "errors": errors}))
sys.exit(1 if errors else 0)
