//! Panel builders and the grid layout the three dashboards share: one place
//! that says what a mimamori stat, gauge or time series looks like.

use std::collections::BTreeMap;

use super::model::*;

/// The datasource every panel uses: the dashboard's `datasource` variable.
pub const DS_VAR: &str = "${datasource}";
/// Tag shared by every mimamori dashboard; the dashboard links list by it.
pub const TAG: &str = "mimamori";

pub fn ds() -> DataSourceRef {
    DataSourceRef {
        kind: "prometheus",
        uid: DS_VAR,
    }
}

// ---------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------

fn target(expr: impl Into<String>, legend: &str, range: bool) -> Target {
    Target {
        datasource: ds(),
        editor_mode: EditorMode::Code,
        expr: expr.into(),
        legend_format: legend.to_string(),
        range,
        instant: !range,
        format: None,
        ref_id: String::new(),
    }
}

/// A range query target.
pub fn range(expr: impl Into<String>, legend: &str) -> Target {
    target(expr, legend, true)
}

/// An instant query target (stats, tables).
pub fn instant(expr: impl Into<String>, legend: &str) -> Target {
    target(expr, legend, false)
}

/// A table target: instant, one row per series.
pub fn table_target(expr: impl Into<String>) -> Target {
    Target {
        format: Some(TargetFormat::Table),
        ..instant(expr, "__auto")
    }
}

// ---------------------------------------------------------------------------
// Field config pieces
// ---------------------------------------------------------------------------

/// Thresholds: `base` from −∞, then each (value, colour) from its value on.
pub fn steps(base: &'static str, rest: &[(f64, &'static str)]) -> Thresholds {
    let mut steps = vec![Step {
        color: base,
        value: None,
    }];
    steps.extend(rest.iter().map(|&(value, color)| Step {
        color,
        value: Some(value),
    }));
    Thresholds {
        mode: ThresholdsMode::Absolute,
        steps,
    }
}

/// Exact values to (text, colour).
pub fn value_map(entries: &[(&str, &'static str, &'static str)]) -> Vec<ValueMapping> {
    let options = entries
        .iter()
        .zip(0..)
        .map(|(&(value, text, color), index)| {
            let result = MappingResult { text, color, index };
            (value.to_string(), result)
        })
        .collect();
    vec![ValueMapping::Value { options }]
}

/// 0 = OK, 1 = failing.
pub fn failing_map() -> Vec<ValueMapping> {
    value_map(&[("0", "正常 / OK", "green"), ("1", "障害 / Failing", "red")])
}

fn int(n: u32) -> serde_json::Number {
    n.into()
}

fn float(x: f64) -> serde_json::Number {
    serde_json::Number::from_f64(x).expect("a finite bound")
}

fn by_thresholds(unit: &str, thresholds: Thresholds) -> FieldConfig {
    FieldConfig {
        unit: Some(unit.to_string()),
        thresholds,
        color: Some(FieldColor {
            mode: ColorMode::Thresholds,
        }),
        ..FieldConfig::default()
    }
}

fn fields(defaults: FieldConfig) -> Option<FieldConfigSource> {
    Some(FieldConfigSource {
        defaults,
        overrides: Vec::new(),
    })
}

// ---------------------------------------------------------------------------
// Panels
// ---------------------------------------------------------------------------

/// A panel reading `targets` (numbered A, B, … here); id and position come
/// from [`Layout`].
fn panel(kind: PanelKind, title: &str, description: &str, mut targets: Vec<Target>) -> Panel {
    for (i, t) in targets.iter_mut().enumerate() {
        t.ref_id = ref_id(i);
    }
    Panel {
        kind,
        id: 0,
        title: title.to_string(),
        description: Some(description.to_string()),
        datasource: Some(ds()),
        targets,
        field_config: None,
        grid_pos: GridPos::default(),
        links: Vec::new(),
        interval: None,
        repeat: None,
        repeat_direction: None,
        max_per_row: None,
        transformations: Vec::new(),
    }
}

fn ref_id(i: usize) -> String {
    char::from(b'A' + u8::try_from(i % 26).expect("i % 26 fits")).to_string()
}

pub fn stat(
    title: &str,
    description: &str,
    targets: Vec<Target>,
    unit: &str,
    thresholds: Thresholds,
) -> Panel {
    let options = StatOptions {
        reduce_options: ReduceOptions::last(),
        color_mode: StatColorMode::Background,
        graph_mode: StatGraphMode::None,
        justify_mode: StatJustifyMode::Auto,
        orientation: Orientation::Auto,
        text_mode: StatTextMode::Auto,
        show_percent_change: false,
        wide_layout: true,
    };
    Panel {
        field_config: fields(by_thresholds(unit, thresholds)),
        ..panel(PanelKind::Stat { options }, title, description, targets)
    }
}

/// A gauge from 0 to 1.
pub fn gauge(
    title: &str,
    description: &str,
    targets: Vec<Target>,
    unit: &str,
    thresholds: Thresholds,
) -> Panel {
    let options = GaugeOptions {
        reduce_options: ReduceOptions::last(),
        orientation: Orientation::Auto,
        show_threshold_labels: false,
        show_threshold_markers: true,
    };
    let defaults = FieldConfig {
        min: Some(int(0)),
        max: Some(float(1.0)),
        ..by_thresholds(unit, thresholds)
    };
    Panel {
        field_config: fields(defaults),
        ..panel(PanelKind::Gauge { options }, title, description, targets)
    }
}

/// Horizontal bars from 0 to 1, one per series.
pub fn bargauge(
    title: &str,
    description: &str,
    targets: Vec<Target>,
    unit: &str,
    thresholds: Thresholds,
) -> Panel {
    let options = BarGaugeOptions {
        reduce_options: ReduceOptions::last(),
        display_mode: BarGaugeDisplayMode::Gradient,
        orientation: Orientation::Horizontal,
        show_unfilled: true,
        value_mode: BarGaugeValueMode::Color,
        name_placement: BarGaugeNamePlacement::Auto,
        min_viz_height: 16,
        min_viz_width: 8,
        sizing: BarGaugeSizing::Auto,
    };
    let defaults = FieldConfig {
        min: Some(int(0)),
        max: Some(int(1)),
        ..by_thresholds(unit, thresholds)
    };
    Panel {
        field_config: fields(defaults),
        ..panel(PanelKind::BarGauge { options }, title, description, targets)
    }
}

pub fn timeseries(
    title: &str,
    description: &str,
    targets: Vec<Target>,
    unit: &str,
    thresholds: Thresholds,
    lines: ThresholdsStyleMode,
) -> Panel {
    let custom = GraphFieldConfig {
        draw_style: DrawStyle::Line,
        line_interpolation: LineInterpolation::Linear,
        line_width: 1,
        fill_opacity: 10,
        gradient_mode: GradientMode::None,
        show_points: ShowPoints::Never,
        span_nulls: false,
        axis_placement: AxisPlacement::Auto,
        axis_soft_min: 0,
        stacking: Stacking {
            mode: StackingMode::None,
            group: "A",
        },
        thresholds_style: ThresholdsStyle { mode: lines },
    };
    let defaults = FieldConfig {
        unit: Some(unit.to_string()),
        thresholds,
        color: Some(FieldColor {
            mode: ColorMode::PaletteClassic,
        }),
        custom: Some(Custom::TimeSeries(custom)),
        ..FieldConfig::default()
    };
    let options = TimeSeriesOptions {
        legend: Legend {
            display_mode: LegendDisplayMode::Table,
            placement: LegendPlacement::Bottom,
            show_legend: true,
            calcs: vec!["lastNotNull", "max"],
        },
        tooltip: Tooltip {
            mode: TooltipMode::Multi,
            sort: SortOrder::Desc,
        },
    };
    Panel {
        field_config: fields(defaults),
        ..panel(
            PanelKind::TimeSeries { options },
            title,
            description,
            targets,
        )
    }
}

/// The time series panel's own field options (panics on another panel: a
/// builder bug, found by every generator test).
fn graph(p: &mut Panel) -> &mut GraphFieldConfig {
    match p
        .field_config
        .as_mut()
        .and_then(|f| f.defaults.custom.as_mut())
    {
        Some(Custom::TimeSeries(g)) => g,
        _ => panic!("'{}' is not a time series panel", p.title),
    }
}

/// Series stacked on each other, filled.
pub fn stacked(mut p: Panel) -> Panel {
    let g = graph(&mut p);
    g.stacking.mode = StackingMode::Normal;
    g.fill_opacity = 60;
    p
}

/// Drawn as bars.
pub fn bars(mut p: Panel) -> Panel {
    let g = graph(&mut p);
    g.draw_style = DrawStyle::Bars;
    g.fill_opacity = 80;
    p
}

pub fn state_timeline(
    title: &str,
    description: &str,
    targets: Vec<Target>,
    mappings: Vec<ValueMapping>,
) -> Panel {
    let defaults = FieldConfig {
        mappings,
        thresholds: steps("green", &[(1.0, "red")]),
        color: Some(FieldColor {
            mode: ColorMode::Thresholds,
        }),
        custom: Some(Custom::StateTimeline {
            fill_opacity: 80,
            line_width: 0,
        }),
        ..FieldConfig::default()
    };
    let options = StateTimelineOptions {
        merge_values: true,
        show_value: Visibility::Never,
        align_value: Align::Left,
        row_height: 0.9,
        legend: Legend {
            display_mode: LegendDisplayMode::List,
            placement: LegendPlacement::Bottom,
            show_legend: true,
            calcs: Vec::new(),
        },
        tooltip: Tooltip {
            mode: TooltipMode::Single,
            sort: SortOrder::None,
        },
    };
    Panel {
        field_config: fields(defaults),
        ..panel(
            PanelKind::StateTimeline { options },
            title,
            description,
            targets,
        )
    }
}

/// A table of the targets' results merged, columns `hide`den and renamed.
pub fn table(
    title: &str,
    description: &str,
    targets: Vec<Target>,
    hide: &[&str],
    rename: &[(&str, &str)],
) -> Panel {
    let organize = Organize {
        exclude_by_name: hide.iter().map(|c| (c.to_string(), true)).collect(),
        rename_by_name: rename
            .iter()
            .map(|(from, to)| (from.to_string(), to.to_string()))
            .collect(),
        index_by_name: BTreeMap::new(),
    };
    let defaults = FieldConfig {
        thresholds: steps("green", &[]),
        custom: Some(Custom::Table {
            align: TextAlign::Auto,
        }),
        ..FieldConfig::default()
    };
    let options = TableOptions {
        show_header: true,
        cell_height: CellHeight::Sm,
        footer: TableFooter {
            show: false,
            reducer: vec!["sum"],
        },
    };
    Panel {
        field_config: fields(defaults),
        transformations: vec![Transformation::Merge {}, Transformation::Organize(organize)],
        ..panel(PanelKind::Table { options }, title, description, targets)
    }
}

/// A Markdown panel.
pub fn text(title: &str, content: String) -> Panel {
    let options = TextOptions {
        mode: TextMode::Markdown,
        content,
        code: CodeOptions {
            language: "markdown",
            show_line_numbers: false,
            show_mini_map: false,
        },
    };
    Panel {
        description: None,
        datasource: None,
        ..panel(PanelKind::Text { options }, title, "", Vec::new())
    }
}

pub fn with_decimals(mut p: Panel, decimals: u32) -> Panel {
    defaults(&mut p).decimals = Some(decimals);
    p
}

pub fn with_mappings(mut p: Panel, mappings: Vec<ValueMapping>) -> Panel {
    defaults(&mut p).mappings = mappings;
    p
}

pub fn with_no_value(mut p: Panel, text: &str) -> Panel {
    defaults(&mut p).no_value = Some(text.to_string());
    p
}

fn defaults(p: &mut Panel) -> &mut FieldConfig {
    let title = p.title.clone();
    &mut p
        .field_config
        .as_mut()
        .unwrap_or_else(|| panic!("'{title}' has no field config"))
        .defaults
}

pub fn with_links(p: Panel, links: Vec<Link>) -> Panel {
    Panel { links, ..p }
}

/// At least one minute per point: the rules record once per 15 s to 1 min.
pub fn per_minute(p: Panel) -> Panel {
    Panel {
        interval: Some("1m"),
        ..p
    }
}

/// Shows the stat's series names next to their values.
pub fn value_and_name(mut p: Panel) -> Panel {
    if let PanelKind::Stat { options } = &mut p.kind {
        options.text_mode = StatTextMode::ValueAndName;
    }
    p
}

// ---------------------------------------------------------------------------
// Links
// ---------------------------------------------------------------------------

/// A link to an address, in the same tab.
pub fn link(title: &str, url: String, tooltip: &str) -> Link {
    Link {
        title: title.to_string(),
        kind: LinkType::Link,
        url,
        tooltip: tooltip.to_string(),
        icon: "external link",
        tags: Vec::new(),
        as_dropdown: false,
        include_vars: false,
        keep_time: false,
        target_blank: false,
    }
}

/// The other mimamori dashboards (by [`TAG`]), keeping the time range.
pub fn dashboard_links() -> Vec<Link> {
    vec![Link {
        title: "mimamori".into(),
        kind: LinkType::Dashboards,
        url: String::new(),
        tags: vec![TAG.into()],
        keep_time: true,
        ..link("", String::new(), "")
    }]
}

// ---------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------

/// Grafana's grid is 24 units wide.
const GRID_WIDTH: u32 = 24;

/// Lays panels out left to right in rows of 24 grid units and numbers them:
/// ids follow the order panels are added, so they are stable across runs.
pub struct Layout {
    panels: Vec<Panel>,
    next_id: u32,
    x: u32,
    y: u32,
    line_h: u32,
}

impl Layout {
    pub fn new() -> Self {
        Layout {
            panels: Vec::new(),
            next_id: 1,
            x: 0,
            y: 0,
            line_h: 0,
        }
    }

    fn push(&mut self, mut p: Panel, grid_pos: GridPos) {
        p.id = self.next_id;
        p.grid_pos = grid_pos;
        self.next_id += 1;
        self.panels.push(p);
    }

    fn newline(&mut self) {
        if self.x > 0 {
            self.y += self.line_h;
            self.x = 0;
            self.line_h = 0;
        }
    }

    /// A row header across the grid, starting a new line.
    pub fn row(&mut self, title: &str) {
        self.newline();
        let row = Panel {
            description: None,
            datasource: None,
            ..panel(
                PanelKind::Row {
                    collapsed: false,
                    panels: Vec::new(),
                },
                title,
                "",
                Vec::new(),
            )
        };
        let (w, h, x, y) = (GRID_WIDTH, 1, 0, self.y);
        self.push(row, GridPos { h, w, x, y });
        self.y += 1;
    }

    /// Adds a panel `w` wide and `h` high after the previous one, on a new
    /// line when it does not fit.
    pub fn add(&mut self, w: u32, h: u32, p: Panel) {
        if self.x + w > GRID_WIDTH {
            self.newline();
        }
        let (x, y) = (self.x, self.y);
        self.push(p, GridPos { h, w, x, y });
        self.x += w;
        self.line_h = self.line_h.max(h);
    }

    /// Places a panel at column `x`, `dy` below the top of the current line
    /// (a smaller tile under another one), leaving the line's cursor alone.
    pub fn place(&mut self, x: u32, dy: u32, w: u32, h: u32, p: Panel) {
        let y = self.y + dy;
        self.push(p, GridPos { h, w, x, y });
        self.line_h = self.line_h.max(dy + h);
    }

    pub fn finish(self) -> Vec<Panel> {
        self.panels
    }
}
