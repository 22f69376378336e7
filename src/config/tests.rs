use super::*;

const VALID: &str = r#"global:
  location: tokyo-a
  interval: 30s
services:
  - name: hanbai
    display_name: {ja: AOULU 販売, en: AOULU Sales}
    transactions:
      - name: everyday
        variables:
          base: ${env:HANBAI_URL:-https://hanbai.example}
        steps:
          - name: login
            method: POST
            url: ${base}/login
            body:
              json: {user: demo, password: "${secret:pw}"}
            capture:
              token: {json: /token, secret: true}
          - name: search
            url: ${base}/orders?q=1
            headers:
              authorization: Bearer ${token}
            expect:
              status: ["2xx"]
secrets:
  pw: {env: HANBAI_PASSWORD}
"#;

#[test]
fn valid_config_loads_with_defaults() {
    let c = parse(VALID, "aoulu.yaml").unwrap();
    assert_eq!(c.global.location, "tokyo-a");
    assert_eq!(c.services[0].objectives.availability, 99.99);
    assert_eq!(c.services[0].objectives.latency.threshold, Dur::secs(3));
    assert_eq!(c.services[0].transactions[0].steps[0].method, "POST");
    assert_eq!(
        c.services[0].transactions[0].steps[1].expect.status,
        vec![StatusSpec { lo: 200, hi: 299 }]
    );
    assert!(c.global.buckets.contains(&3.0));
}

/// Replaces `from` (which must occur once) in the valid config.
fn with(from: &str, to: &str) -> String {
    assert_eq!(VALID.matches(from).count(), 1, "{from}");
    VALID.replace(from, to)
}

#[test]
fn invalid_configs_give_exact_errors() {
    let cases: Vec<(String, &str)> = vec![
        (
            with("  interval: 30s\n", "  interval: 30s\n  colour: blue\n"),
            "t.yaml:4:3: global: unknown field `colour`, expected one of `location`, `interval`, `timeout`, `step_timeout`, `buckets`, `max_body_bytes`, `max_header_bytes`, `max_redirects`, `maintenance_notice_months`, `ca_file`, `user_agent`, `tls_check_interval`, `shard`, `hosts_file`, `browser`",
        ),
        (with("interval: 30s", "interval: 30"), "t.yaml:3:3: global.interval: duration '30' needs a unit (e.g. '30s')"),
        (with("interval: 30s", "interval: 30s\n  shard: 3/3"), "t.yaml:4:3: global.shard: shard index 3 is out of range for 3 shards (indexes are 0-based: 0 to 2)"),
        (with("interval: 30s", "interval: 30s\n  shard: \"1 of 3\""), "t.yaml:4:3: global.shard: invalid shard '1 of 3': expected INDEX/COUNT with a 0-based index, e.g. 0/3"),
        (with("interval: 30s", "interval: 30s\n  shard: 0/0"), "t.yaml:4:3: global.shard: shard count must be between 1 and 1024, not 0"),
        (with("interval: 30s", "interval: soon"), "t.yaml:3:3: global.interval: invalid duration 'soon': expected number at 0 (use e.g. 500ms, 15s, 1m30s)"),
        (with("method: POST", "method: [POST]"), "t.yaml:13:21: services[0].transactions[0].steps[0].method: invalid type: sequence, expected a string"),
        (with("url: ${base}/orders?q=1", "url: ${bse}/orders?q=1"), "t.yaml:20:13: services[0].transactions[0].steps[1].url: undefined variable '${bse}' (define it under 'variables' or capture it in an earlier step)"),
        (with("Bearer ${token}", "Bearer ${secret:tok}"), "t.yaml:22:15: services[0].transactions[0].steps[1].headers.authorization: undefined secret '${secret:tok}' (declare it under 'secrets')"),
        (with("- name: search", "- name: login"), "t.yaml:19:13: services[0].transactions[0].steps[1].name: duplicate step name 'login'"),
        (with("interval: 30s", "interval: 30s\n  buckets: [1, 2, 5]"), "t.yaml:6:5: services[0].objectives.latency.threshold: threshold 3s is not a bucket boundary; add 3 to global.buckets so the objective can be read exactly"),
        (with("url: ${base}/login", "url: ftp://x/login"), "t.yaml:14:13: services[0].transactions[0].steps[0].url: 'ftp://x/login' must start with https:// or http://"),
        (with("status: [\"2xx\"]", "status: [\"700\"]"), "t.yaml:24:24: services[0].transactions[0].steps[1].expect.status[0]: invalid status '700' (expected 200, \"200-299\" or \"2xx\")"),
        (with("{json: /token, secret: true}", "{json: /token, regex: x}"), "t.yaml:18:15: services[0].transactions[0].steps[0].capture.token: set exactly one of 'json', 'regex', 'header'"),
        (with("pw: {env: HANBAI_PASSWORD}", "pw: {}"), "t.yaml:26:3: secrets.pw: set exactly one of 'env' and 'file'"),
        (with("  - name: hanbai\n", "  - name: Hanbai\n"), "t.yaml:5:5: services[0].name: 'Hanbai' must start with a lowercase letter and use only a-z, 0-9, '_' and '-'"),
        (with("  interval: 30s\n", "  interval: 30s\n  timeout: 1m\n"), "t.yaml:9:9: services[0].transactions[0].interval: timeout 1m is longer than interval 30s; runs would overlap"),
        (
            format!("{VALID}maintenance:\n  - services: [hanbai]\n    start: 2027-01-10T02:00:00+09:00\n    end: 2027-01-10T01:00:00+09:00\n    announced_at: 2026-01-01T00:00:00+09:00\n    announced_via: guide\n"),
            "t.yaml:30:5: maintenance[0].end: window ends (2027-01-10T01:00:00+09:00) before it starts (2027-01-10T02:00:00+09:00)",
        ),
        (
            format!("{VALID}maintenance:\n  - services: [hanbia]\n    start: 2027-01-10T02:00:00+09:00\n    end: 2027-01-10T04:00:00+09:00\n    announced_at: 2026-01-01T00:00:00+09:00\n    announced_via: guide\n"),
            "t.yaml:28:16: maintenance[0].services[0]: unknown service 'hanbia'",
        ),
        (
            format!("{VALID}maintenance:\n  - services: [hanbai]\n    start: 2027-01-10 02:00\n    end: 2027-01-10T04:00:00+09:00\n    announced_at: 2026-01-01T00:00:00+09:00\n    announced_via: guide\n"),
            "t.yaml:29:5: maintenance[0].start: invalid time '2027-01-10 02:00': premature end of input (expected RFC 3339 with offset, e.g. 2027-05-09T01:00:00+09:00)",
        ),
        (
            format!("{VALID}notices:\n  - kind: incident\n    published_at: 2026-12-02T10:20:00+09:00\n    services: [hanbia]\n    title: {{ja: 障害, en: Outage}}\n"),
            "t.yaml:30:16: notices[0].services[0]: unknown service 'hanbia'",
        ),
        (
            format!("{VALID}notices:\n  - kind: change\n    published_at: 2026-12-02T10:20:00+09:00\n    title: {{ja: 変更, en: Change}}\n"),
            "t.yaml:28:5: notices[0].kind: a change needs effective_at (when it takes effect), to check the 1-month notice",
        ),
        (
            format!("{VALID}notices:\n  - kind: outage\n    published_at: 2026-12-02T10:20:00+09:00\n    title: {{ja: 障害, en: Outage}}\n"),
            "t.yaml:28:11: notices[0].kind: unknown variant `outage`, expected one of `incident`, `change`, `maintenance`",
        ),
        // Checked while read (names, methods, regexes, header names, pointers, one-of choices).
        (with("location: tokyo-a", "location: Tokyo"), "t.yaml:2:3: global.location: must start with a lowercase letter and use only a-z, 0-9, '_' and '-'"),
        (with("- name: everyday", "- name: every day"), "t.yaml:8:9: services[0].transactions[0].name: 'every day' must start with a lowercase letter and use only a-z, 0-9, '_' and '-'"),
        (format!("{VALID}alerting:\n  locations: [tokyo-a, Osaka]\n"), "t.yaml:28:24: alerting.locations[1]: 'Osaka' must start with a lowercase letter and use only a-z, 0-9, '_' and '-'"),
        (with("method: POST", "method: post"), "t.yaml:13:13: services[0].transactions[0].steps[0].method: invalid HTTP method 'post' (e.g. GET, POST)"),
        (with("authorization: Bearer", "bad header: Bearer"), "t.yaml:22:15: services[0].transactions[0].steps[1].headers.bad header: invalid header name 'bad header'"),
        (with("status: [\"2xx\"]", "body_regex: ['(']"), "t.yaml:24:28: services[0].transactions[0].steps[1].expect.body_regex[0]: invalid regex: regex parse error:\n    (\n    ^\nerror: unclosed group"),
        (with("status: [\"2xx\"]", "headers: [{name: content type, exists: true}]"), "t.yaml:24:26: services[0].transactions[0].steps[1].expect.headers[0].name: invalid header name 'content type'"),
        (with("status: [\"2xx\"]", "headers: [{name: content-type, equals: a, contains: b}]"), "t.yaml:24:26: services[0].transactions[0].steps[1].expect.headers[0]: set exactly one of 'equals', 'contains', 'regex', 'exists'"),
        (with("status: [\"2xx\"]", "headers: [{name: content-type, regex: 'a)'}]"), "t.yaml:24:46: services[0].transactions[0].steps[1].expect.headers[0].regex: invalid regex: regex parse error:\n    a)\n     ^\nerror: unopened group"),
        (with("status: [\"2xx\"]", "json: [{pointer: /ok}]"), "t.yaml:24:23: services[0].transactions[0].steps[1].expect.json[0]: set exactly one of 'equals' and 'exists'"),
        (with("status: [\"2xx\"]", "json: [{pointer: ok, exists: true}]"), "t.yaml:24:23: services[0].transactions[0].steps[1].expect.json[0].pointer: 'ok' is not a JSON pointer (must start with '/')"),
        (with("{json: /token, secret: true}", "{json: token, secret: true}"), "t.yaml:18:23: services[0].transactions[0].steps[0].capture.token.json: 'token' is not a JSON pointer (must start with '/')"),
        (with("{json: /token, secret: true}", "{header: x csrf}"), "t.yaml:18:23: services[0].transactions[0].steps[0].capture.token.header: invalid header name 'x csrf'"),
        (with("{json: /token, secret: true}", "{regex: '(x'}"), "t.yaml:18:23: services[0].transactions[0].steps[0].capture.token.regex: invalid regex: regex parse error:\n    (x\n    ^\nerror: unclosed group"),
        (with("pw: {env: HANBAI_PASSWORD}", "pw: {env: A, file: /b}"), "t.yaml:26:3: secrets.pw: set exactly one of 'env' and 'file'"),
        (with("interval: 30s", "interval: 0s"), "t.yaml:3:3: global.interval: must be greater than 0s"),
        (with("interval: 30s", "interval: 30s\n  buckets: [1, 3, 2]"), "t.yaml:4:3: global.buckets: must be positive and strictly increasing"),
        (with("interval: 30s", "interval: 30s\n  max_body_bytes: 0"), "t.yaml:4:3: global.max_body_bytes: must be greater than 0"),
        (with("display_name: {ja: AOULU 販売, en: AOULU Sales}", "display_name: {ja: AOULU 販売, en: AOULU Sales}\n    objectives: {availability: 100}"), "t.yaml:7:18: services[0].objectives.availability: 100 must be a percentage between 0 and 100 (exclusive), e.g. 99.99"),
        (with("display_name: {ja: AOULU 販売, en: AOULU Sales}", "display_name: {ja: AOULU 販売, en: AOULU Sales}\n    objectives:\n      latency: {target: 0}"), "t.yaml:8:17: services[0].objectives.latency.target: 0 must be a percentage between 0 and 100 (exclusive), e.g. 99"),
        (format!("{VALID}alerting:\n  quorum: 0\n"), "t.yaml:28:3: alerting.quorum: must be at least 1"),
        // A value parser's error names the value's own field, not the mapping around it.
        (with("url: ${base}/login", "url: ${base/login"), "t.yaml:14:13: services[0].transactions[0].steps[0].url: unclosed '${' (write '$$' for a literal '$')"),
        (with("password: \"${secret:pw}\"", "password: \"${secret:pw\""), "t.yaml:16:15: services[0].transactions[0].steps[0].body.json: unclosed '${' (write '$$' for a literal '$')"),
        // Every address and retries.
        (with("- name: everyday\n", "- name: everyday\n        retries: 11\n"), "t.yaml:9:9: services[0].transactions[0].retries: at most 10 retries (got 11)"),
        (with("- name: everyday\n", "- name: everyday\n        retries: 1\n"), "t.yaml:9:9: services[0].transactions[0].retries: retries: 1 with timeout 20s and retry_delay 1s can take 41s, longer than interval 30s; runs would overlap"),
        (with("- name: everyday\n", "- name: everyday\n        retry_delay: 2s\n"), "t.yaml:9:9: services[0].transactions[0].retry_delay: retry_delay without retries has no effect; set retries: N"),
        (with("- name: everyday\n", "- name: everyday\n        resolve: every\n"), "t.yaml:9:18: services[0].transactions[0].resolve: unknown variant `every`, expected `first` or `all`"),
        (with("- name: everyday\n", "- name: everyday\n        ip_protocol: ipv6\n"), "t.yaml:9:22: services[0].transactions[0].ip_protocol: unknown variant `ipv6`, expected one of `any`, `ip4`, `ip6`"),
        (with("- name: everyday\n", "- name: everyday\n        fail_when: all_addresses\n"), "t.yaml:9:9: services[0].transactions[0].fail_when: fail_when chooses how the addresses of resolve: all count; add resolve: all"),
        (with("- name: everyday\n", "- name: everyday\n        resolve: all\n        fail_when: all_addresses\n        ip_protocol: ip4\n        timeout: 5s\n        retries: 2\n        retry_delay: 2s\n"), "<loaded>"),
        ("services: []\n".to_string(), "t.yaml:1:1: services: at least one service is required"),
        ("services: [\n".to_string(), "t.yaml:2:1: did not find expected node content"),
    ];
    assert_first_errors(&cases);
}

/// Each source parses to its first error as written, or `<loaded>`.
fn assert_first_errors(cases: &[(String, &str)]) {
    let mut failures = Vec::new();
    for (src, want) in cases {
        let got = match parse(src, "t.yaml") {
            Ok(_) => "<loaded>".to_string(),
            Err(e) => e.0[0].to_string(),
        };
        if got != *want {
            failures.push(format!("want: {want}\n got: {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn late_announcement_is_a_warning_not_maintenance() {
    let src = format!(
        "{VALID}maintenance:\n  - services: [hanbai]\n    start: 2027-01-10T02:00:00+09:00\n    end: 2027-01-10T04:00:00+09:00\n    announced_at: 2026-07-10T02:00:01+09:00\n    announced_via: guide\n  - services: [hanbai]\n    start: 2027-01-10T02:00:00+09:00\n    end: 2027-01-10T04:00:00+09:00\n    announced_at: 2026-07-10T02:00:00+09:00\n    announced_via: guide\n"
    );
    let c = parse(&src, "t.yaml").unwrap();
    let w = c.warnings();
    assert_eq!(w.len(), 1);
    assert!(
        w[0].to_string().starts_with(
            "t.yaml:31:5: maintenance[0].announced_at: announced 2026-07-10T02:00:01+09:00"
        ),
        "{}",
        w[0]
    );
    assert_eq!(c.planned_windows().count(), 1);
}

#[test]
fn shipped_aoulu_config_is_valid() {
    let src = include_str!("../../deploy/aoulu.yaml");
    let c = parse(src, "deploy/aoulu.yaml").unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<_> = c.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["hanbai", "denshibin"]);
    for s in &c.services {
        assert_eq!(s.objectives.availability, 99.99);
        assert_eq!(s.objectives.latency.threshold, Dur::secs(3));
    }
    assert!(c.warnings().is_empty(), "{:?}", c.warnings());
}

#[test]
fn self_check_errors_name_their_field() {
    let sc = |body: &str| format!("{VALID}self_check:\n{body}");
    let cases: Vec<(String, &str)> = vec![
        (sc("  targets:\n    - {name: gw, tcp: 10.0.0.1:53, url: 'https://x.example/'}\n"), "t.yaml:29:8: self_check.targets[0].name: set exactly one of 'tcp' and 'url'"),
        (sc("  targets:\n    - {name: gw}\n"), "t.yaml:29:8: self_check.targets[0].name: set exactly one of 'tcp' and 'url'"),
        (sc("  targets:\n    - {name: gw, tcp: 10.0.0.1}\n"), "t.yaml:29:18: self_check.targets[0].tcp: '10.0.0.1' is not host:port (e.g. 192.0.2.1:53)"),
        (sc("  targets:\n    - {name: gw, url: 'ftp://x.example/'}\n"), "t.yaml:29:18: self_check.targets[0].url: 'ftp://x.example/' is not an http:// or https:// URL"),
        (sc("  targets:\n    - {name: gw, tcp: 'a:1'}\n    - {name: gw, tcp: 'b:1'}\n"), "t.yaml:30:8: self_check.targets[1].name: duplicate self-check target 'gw'"),
        (sc("  targets:\n    - {name: gw, tcp: 'a:1'}\n  locations:\n    tokyo-a: [gw, dns]\n"), "t.yaml:31:19: self_check.locations.tokyo-a[1]: unknown self-check target 'dns'"),
        (sc("  timeout: 1m\n"), "t.yaml:28:3: self_check.timeout: must be greater than 0s and at most the interval (30s)"),
        (sc("  targets:\n    - {name: gw, tcp: 'a:1', colour: red}\n"), "t.yaml:29:30: self_check.targets[0]: unknown field `colour`, expected one of `name`, `tcp`, `url`, `status`"),
    ];
    assert_first_errors(&cases);
    let ok = parse(
        &sc("  targets:\n    - {name: gw, tcp: '192.0.2.1:53'}\n    - {name: web, url: 'https://www.example/'}\n  locations:\n    tokyo-a: [web, gw]\n"),
        "t.yaml",
    )
    .unwrap();
    let names: Vec<&str> = ok
        .self_check
        .targets_of("tokyo-a")
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(names, ["web", "gw"]);
    assert!(ok.self_check.targets_of("osaka-b").is_empty());
    assert_eq!(
        ok.self_check.targets[1].status,
        vec![StatusSpec { lo: 200, hi: 399 }]
    );
    assert_eq!(
        ok.self_check.describe(),
        "self-checks (every 30s, timeout 5s; a location is blind when all of its targets fail):\n  tokyo-a: web (https://www.example/), gw (tcp 192.0.2.1:53)\n"
    );
    let secret = parse(
        &sc("  targets:\n    - {name: web, url: 'https://u:pw@www.example/'}\n  locations:\n    tokyo-a: [web]\n"),
        "t.yaml",
    )
    .unwrap();
    let text = secret.self_check.describe();
    assert!(!text.contains("pw@"), "{text}");
    assert!(text.contains("https://u:****@www.example/"), "{text}");
    assert_eq!(SelfCheck::default().describe(), "");
}

/// One exclusion after the valid config (line 27 is `exclusions:`, 28 its first field).
fn exclusion(fields: &str) -> String {
    format!("{VALID}exclusions:\n{fields}")
}

const CARRIER: &str = "  - services: [hanbai]\n    start: 2026-11-05T10:00:00+09:00\n    end: 2026-11-05T10:10:00+09:00\n    reason: carrier_outage\n    description: {ja: 全国的な通信障害, en: Nationwide carrier outage}\n    decided_by: 運用責任者\n    decided_at: 2026-11-06T09:00:00+09:00\n";

#[test]
fn exclusion_errors_name_their_field() {
    let cases: Vec<(String, &str)> = vec![
        (
            exclusion(&CARRIER.replace("end: 2026-11-05T10:10", "end: 2026-11-05T09:10")),
            "t.yaml:30:5: exclusions[0].end: exclusion ends (2026-11-05T09:10:00+09:00) before it starts (2026-11-05T10:00:00+09:00)",
        ),
        (
            exclusion(&CARRIER.replace("decided_at: 2026-11-06", "decided_at: 2026-11-01")),
            "t.yaml:34:5: exclusions[0].decided_at: decided (2026-11-01T09:00:00+09:00) before the excluded time starts (2026-11-05T10:00:00+09:00): planned outages are `maintenance:`, announced ahead",
        ),
        (
            exclusion(&CARRIER.replace("carrier_outage", "bad_luck")),
            "t.yaml:31:13: exclusions[0].reason: unknown variant `bad_luck`, expected one of `force_majeure`, `carrier_outage`, `third_party`, `customer_action`, `outside_japan`, `hardware_unavoidable`",
        ),
        (
            exclusion(&CARRIER.replace("[hanbai]", "[hanbai, denshi]")),
            "t.yaml:28:24: exclusions[0].services[1]: unknown service 'denshi'",
        ),
        (
            exclusion(&CARRIER.replace("start: 2026-11-05T10:00:00+09:00", "start: 2026-11-05 10:00")),
            "t.yaml:29:5: exclusions[0].start: invalid time '2026-11-05 10:00': premature end of input (expected RFC 3339 with offset, e.g. 2027-05-09T01:00:00+09:00)",
        ),
        (
            exclusion(&format!("{CARRIER}    evidence: carrier.example/notice\n")),
            "t.yaml:35:5: exclusions[0].evidence: 'carrier.example/notice' is not an http:// or https:// URL",
        ),
        (
            exclusion(&format!("{CARRIER}{}", CARRIER.replace("10:10:00", "10:20:00").replace("10:00:00", "10:05:00"))),
            "t.yaml:36:5: exclusions[1].start: overlaps exclusions[0] for service 'hanbai'; one span of time is set aside by one decision",
        ),
        (
            exclusion(&CARRIER.replace("decided_by: 運用責任者", "decided_by: ''")),
            "t.yaml:33:5: exclusions[0].decided_by: say who decided",
        ),
    ];
    assert_first_errors(&cases);
    let ok = parse(&exclusion(CARRIER), "t.yaml").unwrap();
    assert_eq!(ok.exclusions[0].reason, ExclusionReason::CarrierOutage);
    assert_eq!(
        ok.exclusions[0].reason.words().ja,
        "通信遮断等のインフラ障害"
    );
    assert!(ok.services[0].objectives.apply_exclusions);
    assert!(ok.warnings().is_empty(), "{:?}", ok.warnings());
    // Reaching past now: a warning at its end.
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp();
    assert!(ok.warnings_at(at("2026-11-06T00:00:00+09:00")).is_empty());
    let w = ok.warnings_at(at("2026-11-05T10:05:00+09:00"));
    assert_eq!(w.len(), 1);
    assert_eq!(
        w[0].to_string(),
        "t.yaml:30:5: exclusions[0].end: ends 2026-11-05T10:10:00+09:00, in the future: an exclusion is decided about time that has passed"
    );
}

#[test]
fn an_exclusion_over_planned_maintenance_is_a_warning() {
    let src = format!(
        "{}maintenance:\n  - services: [hanbai]\n    start: 2026-11-05T10:05:00+09:00\n    end: 2026-11-05T11:00:00+09:00\n    announced_at: 2026-04-01T10:00:00+09:00\n    announced_via: guide\n",
        exclusion(CARRIER)
    );
    let c = parse(&src, "t.yaml").unwrap();
    let w: Vec<String> = c.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(
        w,
        ["t.yaml:29:5: exclusions[0].start: overlaps maintenance[0] (2026-11-05T10:05:00+09:00–2026-11-05T11:00:00+09:00): planned maintenance is not operating time, so the exclusion sets nothing aside there"]
    );
    // A late-announced window is operating time: the exclusion does work there, no overlap warning.
    let late = src.replace("2026-04-01T10:00:00", "2026-10-01T10:00:00");
    let c = parse(&late, "t.yaml").unwrap();
    assert_eq!(c.warnings().len(), 1, "only the late announcement");
    assert!(c.warnings()[0].field.starts_with("maintenance[0]"));
}

#[test]
fn every_exclusion_reason_has_words_and_its_row_in_the_docs() {
    let doc = include_str!("../../docs/exclusions.md");
    for r in ExclusionReason::ALL {
        let parsed: ExclusionReason = serde_yaml::from_str(r.name()).unwrap();
        assert_eq!(parsed, r);
        let w = r.words();
        let row = format!("| `{}` | {} | {} |", r.name(), w.ja, w.en);
        assert!(doc.contains(&row), "docs/exclusions.md lacks {row}");
    }
}
