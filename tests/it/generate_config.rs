//! The `alerting:` section: bad values are refused with file:line:column.

use mimamori::config;

fn aoulu() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/aoulu.yaml")).unwrap()
}

fn first_error(src: &str) -> String {
    match config::parse(src, "a.yaml") {
        Ok(_) => "<loaded>".into(),
        Err(e) => e.0[0].to_string(),
    }
}

/// Line and column of the first occurrence of `needle`, 1-based.
fn pos(src: &str, needle: &str) -> (usize, usize) {
    let i = src.find(needle).unwrap_or_else(|| panic!("{needle}"));
    let line = src[..i].matches('\n').count() + 1;
    let col = i - src[..i].rfind('\n').map_or(0, |n| n + 1) + 1;
    (line, col)
}

#[test]
fn shipped_alerting_section_is_typed() {
    let c = config::parse(&aoulu(), "aoulu.yaml").unwrap();
    let a = &c.alerting;
    assert_eq!(a.quorum, None);
    assert_eq!(a.job, "mimamori");
    assert_eq!(a.support_hours.timezone, "Asia/Tokyo");
    assert_eq!(a.support_hours.times, ["09:00-12:00", "13:00-17:00"]);
    assert!(a.support_hours.exclude_japanese_holidays);
    assert!(a.page.pagerduty_routing_key_file.is_some());
    assert_eq!(a.ticket.email_to, ["sre@aoulu.example"]);
}

#[test]
fn bad_alerting_values_give_exact_errors() {
    let src = aoulu();
    let cases = [
        (
            src.replace("\"13:00-17:00\"", "\"13:00-25:00\""),
            "\"13:00-25:00\"",
            "alerting.support_hours.times[1]: invalid time range '13:00-25:00' (expected HH:MM-HH:MM, e.g. 09:00-12:00)",
        ),
        (
            src.replace("weekdays: [monday,", "weekdays: [mon,"),
            "mon,",
            "alerting.support_hours.weekdays[0]: unknown weekday 'mon' (use monday … sunday)",
        ),
        (
            src.replace("  job: mimamori", "  quorum: 0\n  job: mimamori"),
            "quorum: 0",
            "alerting.quorum: must be at least 1",
        ),
    ];
    for (text, at, message) in cases {
        let (l, c) = pos(&text, at);
        assert_eq!(first_error(&text), format!("a.yaml:{l}:{c}: {message}"));
    }
    let unknown = src.replace("  job: mimamori", "  jobs: mimamori");
    assert!(
        first_error(&unknown).contains("alerting: unknown field `jobs`"),
        "{}",
        first_error(&unknown)
    );
    let no_smtp = src.replace(
        "  smtp:\n    from: mimamori@aoulu.example\n    smarthost: smtp.aoulu.example:587\n",
        "",
    );
    assert_ne!(no_smtp, src);
    assert!(first_error(&no_smtp).ends_with("alerting: email_to needs 'smtp' (from, smarthost)"));
}
