use super::*;

const VALID: &str = r#"secrets:
  key: {env: KEY}
services:
  - name: hanbai
    display_name: {ja: 販売, en: Sales}
    transactions:
      - name: top
        steps:
          - {name: get, url: "https://hanbai.example/"}
backups:
  - service: hanbai
    name: db
    display_name: {ja: データベース, en: Database}
    s3:
      endpoint: https://s3.example
      bucket: backups
      access_key_id: ${secret:key}
      secret_access_key: ${secret:key}
    name_pattern: 'db-(?P<year>\d{4})(?P<month>\d\d)(?P<day>\d\d)'
    since: 2026-01-05
"#;

fn with(from: &str, to: &str) -> String {
    assert_eq!(VALID.matches(from).count(), 1, "{from}");
    VALID.replace(from, to)
}

#[test]
fn backups_load_with_defaults() {
    let c = parse(VALID, "t.yaml").unwrap();
    let b = &c.backups[0];
    assert_eq!(b.interval, Dur::secs(900));
    assert_eq!(b.timeout, Dur::secs(60));
    assert_eq!(b.expect.max_age, Dur::secs(26 * 3600));
    assert_eq!(b.s3.as_ref().unwrap().region, "us-east-1");
    assert_eq!(b.since, chrono::NaiveDate::from_ymd_opt(2026, 1, 5));
}

#[test]
fn invalid_backups_give_exact_errors() {
    let cases: Vec<(String, &str)> = vec![
        (with("  - service: hanbai\n    name: db", "  - service: shop\n    name: db"), "t.yaml:11:5: backups[0].service: unknown service 'shop'"),
        (with("    since: 2026-01-05", "    since: 2026-13-05"), "t.yaml:20:5: backups[0].since: '2026-13-05' is not a date YYYY-MM-DD: input is out of range"),
        (with("(?P<day>\\d\\d)", "(?P<dd>\\d\\d)"), "t.yaml:19:5: backups[0].name_pattern: needs the named group (?P<day>...)"),
        (with("    since: 2026-01-05", "    since: 2026-01-05\n    directory: /mnt/b"), "t.yaml:11:5: backups[0]: set exactly one of 's3' and 'directory'"),
        (with("    since: 2026-01-05", "    since: 2026-01-05\n    timeout: 20m"), "t.yaml:21:5: backups[0].timeout: timeout 20m must be greater than 0s and at most the interval 15m"),
        (with("secret_access_key: ${secret:key}", "secret_access_key: ${secret:nope}"), "t.yaml:18:7: backups[0].s3.secret_access_key: unknown secret 'nope'"),
        (with("endpoint: https://s3.example", "endpoint: s3.example"), "t.yaml:15:7: backups[0].s3.endpoint: must be an http:// or https:// URL"),
        (with("    since: 2026-01-05", "    since: 2026-01-05\n    colour: blue"), "t.yaml:21:5: backups[0]: unknown field `colour`, expected one of `service`, `name`, `display_name`, `s3`, `directory`, `interval`, `timeout`, `name_pattern`, `since`, `expect`"),
        (format!("{VALID}  - service: hanbai\n    name: db\n    display_name: {{ja: x, en: x}}\n    directory: /mnt\n"), "t.yaml:22:5: backups[1].name: duplicate backup name 'db' in service 'hanbai'"),
    ];
    for (src, want) in cases {
        let errs = parse(&src, "t.yaml").unwrap_err();
        assert_eq!(errs.to_string(), want, "{src}");
    }
}
