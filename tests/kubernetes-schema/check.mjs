// Validates prometheus-operator objects against the operator's schemas, offline.
// Input: a JSON file holding an array of Kubernetes objects (tests/it/kubernetes.rs writes it
// from `kustomize build`). Objects of other API groups are skipped. Prints one line per object
// and exits 1 when any fails.
//
// The schemas come from @kubernetes-models/prometheus-operator (MIT), generated from the
// operator's Go API types, the same source its CRDs' openAPIV3Schema is generated from. Like
// the CRDs, they allow unknown fields (the API server prunes them silently), so a misspelt
// field passes here; tests/it/kubernetes.rs asserts the fields that matter by name.
import { readFileSync } from "node:fs";
import * as v1 from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";

const objects = JSON.parse(readFileSync(process.argv[2], "utf8"));
let failed = 0;
let checked = 0;
for (const obj of objects) {
  if (obj.apiVersion !== "monitoring.coreos.com/v1") continue;
  const Model = v1[obj.kind];
  const name = `${obj.kind}/${obj.metadata?.name}`;
  if (!Model) {
    console.log(`FAIL ${name}: no schema for this kind`);
    failed++;
    continue;
  }
  checked++;
  try {
    new Model(obj).validate();
    console.log(`ok ${name}`);
  } catch (e) {
    console.log(`FAIL ${name}: ${e.message}`);
    failed++;
  }
}
console.log(`${checked} checked, ${failed} failed`);
process.exit(failed > 0 || checked === 0 ? 1 : 0);
