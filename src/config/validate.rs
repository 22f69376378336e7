//! Rules across fields, checked after the file is read: unique names, defined
//! references, timeouts within intervals, thresholds on bucket boundaries,
//! maintenance windows against services.

use std::collections::HashSet;

use super::*;

impl Config {
    /// Rules serde cannot express on one value: unique names, defined references,
    /// timeouts within intervals, thresholds on bucket boundaries, maintenance
    /// windows against services. Also kept here: non-empty lists (serde_yaml
    /// would place an empty top-level `services` nowhere useful) and the support
    /// hours' weekdays and times (plain strings the Alertmanager generator reads).
    /// Everything about a single value is checked while it is read. Returns every
    /// error found.
    pub fn validate(&self) -> Vec<ConfigError> {
        let src = self.source.clone();
        let mut errs = Vec::new();
        let root = Path::root();
        let g = &self.global;
        if self.services.is_empty() {
            errs.push(src.error(&root.key("services"), "at least one service is required"));
        }
        let mut service_names = HashSet::new();
        for (si, svc) in self.services.iter().enumerate() {
            let sp = root.key("services").index(si);
            if !service_names.insert(svc.name.as_str()) {
                errs.push(src.error(
                    &sp.key("name"),
                    format!("duplicate service name '{}'", svc.name),
                ));
            }
            let op = sp.key("objectives");
            let lt = &svc.objectives.latency;
            let th = lt.threshold.as_secs_f64();
            if !g.buckets.iter().any(|b| (b - th).abs() < 1e-9) {
                errs.push(src.error(
                    &op.key("latency").key("threshold"),
                    format!("threshold {} is not a bucket boundary; add {th} to global.buckets so the objective can be read exactly", lt.threshold),
                ));
            }
            if svc.transactions.is_empty() {
                errs.push(src.error(
                    &sp.key("transactions"),
                    "at least one transaction is required",
                ));
            }
            let mut tx_names = HashSet::new();
            for (ti, tx) in svc.transactions.iter().enumerate() {
                let tp = sp.key("transactions").index(ti);
                if !tx_names.insert(tx.name.as_str()) {
                    errs.push(src.error(
                        &tp.key("name"),
                        format!(
                            "duplicate transaction name '{}' in service '{}'",
                            tx.name, svc.name
                        ),
                    ));
                }
                self.validate_transaction(tx, &tp, &mut errs);
            }
        }

        self.validate_backups(&mut errs);
        self.validate_notify(&mut errs);
        for (wi, w) in self.maintenance.iter().enumerate() {
            let wp = root.key("maintenance").index(wi);
            if w.end <= w.start {
                errs.push(src.error(
                    &wp.key("end"),
                    format!(
                        "window ends ({}) before it starts ({})",
                        w.end.to_rfc3339(),
                        w.start.to_rfc3339()
                    ),
                ));
            }
            if w.announced_at > w.start {
                errs.push(src.error(
                    &wp.key("announced_at"),
                    "announced after the window started",
                ));
            }
            if w.services.is_empty() {
                errs.push(src.error(&wp.key("services"), "name at least one service"));
            }
            for (i, s) in w.services.iter().enumerate() {
                if !service_names.contains(s.as_str()) {
                    errs.push(src.error(
                        &wp.key("services").index(i),
                        format!("unknown service '{s}'"),
                    ));
                }
            }
        }
        for (ni, n) in self.notices.iter().enumerate() {
            let np = root.key("notices").index(ni);
            for (i, s) in n.services.iter().enumerate() {
                if !service_names.contains(s.as_str()) {
                    errs.push(src.error(
                        &np.key("services").index(i),
                        format!("unknown service '{s}'"),
                    ));
                }
            }
            if n.kind == NoticeKind::Change && n.effective_at.is_none() {
                errs.push(src.error(
                    &np.key("kind"),
                    "a change needs effective_at (when it takes effect), to check the 1-month notice",
                ));
            }
            if n.title.ja.trim().is_empty() && n.title.en.trim().is_empty() {
                errs.push(src.error(&np.key("title"), "give a title (ja and en)"));
            }
        }
        self.validate_alerting(&mut errs);
        self.validate_exclusions(&service_names, &mut errs);
        self.self_check.validate(&src, &mut errs);
        errs
    }

    /// Exclusions: a span after its start, decided once it began (a decision
    /// ahead of time is planned maintenance), known services, and no two of one
    /// service overlapping (so each failure second is set aside by one decision).
    fn validate_exclusions(&self, service_names: &HashSet<&str>, errs: &mut Vec<ConfigError>) {
        let src = &self.source;
        for (xi, x) in self.exclusions.iter().enumerate() {
            let xp = Path::root().key("exclusions").index(xi);
            if x.end <= x.start {
                errs.push(src.error(
                    &xp.key("end"),
                    format!(
                        "exclusion ends ({}) before it starts ({})",
                        x.end.to_rfc3339(),
                        x.start.to_rfc3339()
                    ),
                ));
            }
            if x.decided_at < x.start {
                errs.push(src.error(
                    &xp.key("decided_at"),
                    format!(
                        "decided ({}) before the excluded time starts ({}): planned outages are `maintenance:`, announced ahead",
                        x.decided_at.to_rfc3339(),
                        x.start.to_rfc3339()
                    ),
                ));
            }
            if x.services.is_empty() {
                errs.push(src.error(&xp.key("services"), "name at least one service"));
            }
            for (i, s) in x.services.iter().enumerate() {
                if !service_names.contains(s.as_str()) {
                    errs.push(src.error(
                        &xp.key("services").index(i),
                        format!("unknown service '{s}'"),
                    ));
                }
            }
            if x.decided_by.trim().is_empty() {
                errs.push(src.error(&xp.key("decided_by"), "say who decided"));
            }
            if x.description.ja.trim().is_empty() || x.description.en.trim().is_empty() {
                errs.push(src.error(
                    &xp.key("description"),
                    "describe what happened in ja and en",
                ));
            }
            if let Some(e) = &x.evidence {
                if !(e.starts_with("https://") || e.starts_with("http://")) {
                    errs.push(src.error(
                        &xp.key("evidence"),
                        format!("'{e}' is not an http:// or https:// URL"),
                    ));
                }
            }
            for (yi, y) in self.exclusions.iter().enumerate().take(xi) {
                let shared = x.services.iter().find(|s| y.services.contains(s));
                if let Some(s) = shared {
                    if x.start < y.end && y.start < x.end {
                        errs.push(src.error(
                            &xp.key("start"),
                            format!("overlaps exclusions[{yi}] for service '{s}'; one span of time is set aside by one decision"),
                        ));
                    }
                }
            }
        }
    }

    fn validate_alerting(&self, errs: &mut Vec<ConfigError>) {
        const DAYS: [&str; 7] = [
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
        ];
        let src = &self.source;
        let ap = Path::root().key("alerting");
        let a = &self.alerting;
        let sp = ap.key("support_hours");
        for (i, d) in a.support_hours.weekdays.iter().enumerate() {
            if !DAYS.contains(&d.as_str()) {
                errs.push(src.error(
                    &sp.key("weekdays").index(i),
                    format!("unknown weekday '{d}' (use monday … sunday)"),
                ));
            }
        }
        for (i, t) in a.support_hours.times.iter().enumerate() {
            if parse_time_range(t).is_none() {
                errs.push(src.error(
                    &sp.key("times").index(i),
                    format!("invalid time range '{t}' (expected HH:MM-HH:MM, e.g. 09:00-12:00)"),
                ));
            }
        }
        let mail = !a.page.email_to.is_empty() || !a.ticket.email_to.is_empty();
        if mail && a.smtp.is_none() {
            errs.push(src.error(&ap, "email_to needs 'smtp' (from, smarthost)"));
        }
    }

    fn validate_transaction(&self, tx: &Transaction, tp: &Path, errs: &mut Vec<ConfigError>) {
        let src = &self.source;
        let g = &self.global;
        let interval = tx.interval(g);
        let timeout = tx.timeout(g);
        if interval.is_zero() {
            errs.push(src.error(&tp.key("interval"), "must be greater than 0s"));
        }
        if timeout.is_zero() {
            errs.push(src.error(&tp.key("timeout"), "must be greater than 0s"));
        }
        if timeout > interval {
            let field = if tx.timeout.is_some() {
                "timeout"
            } else {
                "interval"
            };
            errs.push(src.error(
                &tp.key(field),
                format!(
                    "timeout {} is longer than interval {}; runs would overlap",
                    duration::fmt_prom(timeout),
                    duration::fmt_prom(interval)
                ),
            ));
        }
        if tx.retries > MAX_RETRIES {
            errs.push(src.error(
                &tp.key("retries"),
                format!("at most {MAX_RETRIES} retries (got {})", tx.retries),
            ));
        } else if tx.retries > 0 && timeout <= interval && tx.longest_run(g) > interval {
            errs.push(src.error(
                &tp.key("retries"),
                format!(
                    "retries: {} with timeout {} and retry_delay {} can take {}, longer than interval {}; runs would overlap",
                    tx.retries,
                    duration::fmt_prom(timeout),
                    duration::fmt_prom(tx.retry_delay()),
                    duration::fmt_prom(tx.longest_run(g)),
                    duration::fmt_prom(interval)
                ),
            ));
        }
        if tx.retry_delay.is_some() && tx.retries == 0 {
            errs.push(src.error(
                &tp.key("retry_delay"),
                "retry_delay without retries has no effect; set retries: N",
            ));
        }
        if tx.fail_when != FailWhen::AnyAddress && !tx.every_address() {
            errs.push(src.error(
                &tp.key("fail_when"),
                "fail_when chooses how the addresses of resolve: all count; add resolve: all",
            ));
        }
        if let Some(b) = &tx.browser {
            if !tx.steps.is_empty() {
                errs.push(src.error(
                    &tp.key("steps"),
                    "a transaction has either HTTP steps or browser steps, not both",
                ));
            }
            if tx.every_address() {
                errs.push(src.error(
                    &tp.key("resolve"),
                    "resolve: all is for HTTP steps; a browser resolves as customers' browsers do",
                ));
            }
            if tx.tls.server_name.is_some() {
                errs.push(src.error(
                    &tp.key("tls").key("server_name"),
                    "a browser presents the URL's host name; server_name is for HTTP steps",
                ));
            }
            let vars: HashSet<&str> = tx.variables.keys().map(String::as_str).collect();
            for (name, t) in &tx.variables {
                self.check_template(t, &vars, &tp.key("variables").key(name), errs);
            }
            let check = |t: &Template, d: &HashSet<&str>, p: &Path, e: &mut Vec<ConfigError>| {
                self.check_template(t, d, p, e)
            };
            b.validate(src, &tp.key("browser"), &vars, timeout, &check, errs);
            return;
        }
        if tx.steps.is_empty() {
            errs.push(src.error(&tp.key("steps"), "at least one step is required"));
        }
        let mut defined: HashSet<&str> = tx.variables.keys().map(String::as_str).collect();
        for (name, t) in &tx.variables {
            self.check_template(
                t,
                &tx.variables.keys().map(String::as_str).collect(),
                &tp.key("variables").key(name),
                errs,
            );
        }
        let mut step_names = HashSet::new();
        for (i, step) in tx.steps.iter().enumerate() {
            let p = tp.key("steps").index(i);
            if !step_names.insert(step.name.as_str()) {
                errs.push(src.error(
                    &p.key("name"),
                    format!("duplicate step name '{}'", step.name),
                ));
            }
            self.check_template(&step.url, &defined, &p.key("url"), errs);
            for (h, t) in &step.headers {
                self.check_template(t, &defined, &p.key("headers").key(h.written()), errs);
            }
            match &step.body {
                Some(Body::Raw(t)) => {
                    self.check_template(t, &defined, &p.key("body").key("raw"), errs)
                }
                Some(Body::Form(f)) => {
                    for (k, t) in f {
                        self.check_template(t, &defined, &p.key("body").key("form").key(k), errs);
                    }
                }
                Some(Body::Json(j)) => {
                    for t in j.templates() {
                        self.check_template(t, &defined, &p.key("body").key("json"), errs)
                    }
                }
                None => {}
            }
            if let Some(t) = step.timeout {
                if t.0.is_zero() {
                    errs.push(src.error(&p.key("timeout"), "must be greater than 0s"));
                } else if t.0 > timeout {
                    errs.push(src.error(
                        &p.key("timeout"),
                        format!(
                            "step timeout {t} is longer than the transaction timeout {}",
                            duration::fmt_prom(timeout)
                        ),
                    ));
                }
            }
            defined.extend(step.capture.keys().map(String::as_str));
        }
    }

    fn check_template(
        &self,
        t: &Template,
        defined: &HashSet<&str>,
        path: &Path,
        errs: &mut Vec<ConfigError>,
    ) {
        for v in t.vars() {
            if !defined.contains(v) {
                errs.push(self.source.error(path, format!("undefined variable '${{{v}}}' (define it under 'variables' or capture it in an earlier step)")));
            }
        }
        for s in t.secrets() {
            if !self.secrets.contains_key(s) {
                errs.push(self.source.error(
                    path,
                    format!("undefined secret '${{secret:{s}}}' (declare it under 'secrets')"),
                ));
            }
        }
    }

    /// Problems that do not stop the exporter but that people must see.
    pub fn warnings(&self) -> Vec<ConfigError> {
        let mut out = self.maintenance_warnings();
        out.extend(self.exclusion_overlap_warnings());
        out
    }

    /// [`Config::warnings`] and those that depend on the time `now` (unix
    /// seconds): an exclusion reaching past now.
    pub fn warnings_at(&self, now: i64) -> Vec<ConfigError> {
        let mut out = self.warnings();
        out.extend(self.exclusion_future_warnings(now));
        out
    }

    /// Exclusions overlapping planned maintenance: that time is not operating
    /// time anyway, so the exclusion sets nothing aside there.
    fn exclusion_overlap_warnings(&self) -> Vec<ConfigError> {
        let mut out = Vec::new();
        for (xi, x) in self.exclusions.iter().enumerate() {
            for (wi, w) in self.planned_windows_indexed() {
                if x.start < w.end
                    && w.start < x.end
                    && x.services.iter().any(|s| w.services.contains(s))
                {
                    out.push(self.source.error(
                        &Path::root().key("exclusions").index(xi).key("start"),
                        format!(
                            "overlaps maintenance[{wi}] ({}–{}): planned maintenance is not operating time, so the exclusion sets nothing aside there",
                            w.start.to_rfc3339(),
                            w.end.to_rfc3339()
                        ),
                    ));
                }
            }
        }
        out
    }

    /// Exclusions that end after `now` (unix seconds): time not yet seen cannot
    /// have been judged outside the SLO.
    pub fn exclusion_future_warnings(&self, now: i64) -> Vec<ConfigError> {
        self.exclusions
            .iter()
            .enumerate()
            .filter(|(_, x)| x.end.timestamp() > now)
            .map(|(xi, x)| {
                self.source.error(
                    &Path::root().key("exclusions").index(xi).key("end"),
                    format!(
                        "ends {}, in the future: an exclusion is decided about time that has passed",
                        x.end.to_rfc3339()
                    ),
                )
            })
            .collect()
    }

    fn planned_windows_indexed(&self) -> impl Iterator<Item = (usize, &MaintenanceWindow)> {
        let months = self.global.maintenance_notice_months;
        self.maintenance
            .iter()
            .enumerate()
            .filter(move |(_, w)| w.announced_in_time(months))
    }

    fn maintenance_warnings(&self) -> Vec<ConfigError> {
        let months = self.global.maintenance_notice_months;
        self.maintenance
            .iter()
            .enumerate()
            .filter(|(_, w)| !w.announced_in_time(months))
            .map(|(i, w)| {
                self.source.error(
                    &Path::root().key("maintenance").index(i).key("announced_at"),
                    format!(
                        "announced {} for a window starting {}: less than {months} months' notice, so it is NOT planned maintenance and its downtime counts as failure time",
                        w.announced_at.to_rfc3339(),
                        w.start.to_rfc3339()
                    ),
                )
            })
            .collect()
    }

    /// Windows that count as planned maintenance (announced in time).
    pub fn planned_windows(&self) -> impl Iterator<Item = &MaintenanceWindow> {
        let months = self.global.maintenance_notice_months;
        self.maintenance
            .iter()
            .filter(move |w| w.announced_in_time(months))
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }
}
