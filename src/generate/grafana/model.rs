//! Grafana's dashboard JSON as Rust types: the part of `@grafana/schema`'s
//! `Dashboard` (Grafana 11) that mimamori writes, so that a misspelt key or a
//! mode Grafana does not know is a compile error rather than a broken panel.
//!
//! Field names are the schema's (`camelCase` on the wire); modes that the
//! schema spells as enums are enums here. `tests/grafana-schema/` checks the
//! serialized result against the schema itself.

use serde::{Serialize, Serializer};

mod fields;
mod options;

pub use fields::*;
pub use options::*;

/// Writes a fieldless enum as the number Grafana stores (`graphTooltip: 1`).
macro_rules! serialize_as_number {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u8(*self as u8)
            }
        }
    )*};
}

// ---------------------------------------------------------------------------
// Dashboard
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    /// Always `null`: Grafana assigns its own id on import.
    pub id: Option<u32>,
    pub uid: String,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub timezone: &'static str,
    pub week_start: &'static str,
    pub fiscal_year_start_month: u8,
    pub editable: bool,
    pub graph_tooltip: CursorSync,
    pub live_now: bool,
    pub refresh: &'static str,
    pub schema_version: u32,
    pub version: u32,
    pub time: TimeRange,
    pub timepicker: TimePicker,
    pub templating: Templating,
    pub annotations: Annotations,
    pub links: Vec<Link>,
    pub panels: Vec<Panel>,
}

/// Shared crosshair / tooltip between panels.
#[derive(Debug, Clone, Copy)]
pub enum CursorSync {
    Off = 0,
    Crosshair = 1,
    Tooltip = 2,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimeRange {
    pub from: String,
    pub to: String,
}

/// The time picker with Grafana's defaults (`{}`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct TimePicker {}

#[derive(Debug, Clone, Serialize)]
pub struct DataSourceRef {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub uid: &'static str,
}

/// A dashboard link (dashboard header) or a panel link: the schema types both
/// as `DashboardLink`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    pub title: String,
    #[serde(rename = "type")]
    pub kind: LinkType,
    pub url: String,
    pub tooltip: String,
    pub icon: &'static str,
    /// For [`LinkType::Dashboards`]: list the dashboards with these tags.
    pub tags: Vec<String>,
    pub as_dropdown: bool,
    pub include_vars: bool,
    pub keep_time: bool,
    pub target_blank: bool,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkType {
    Link,
    Dashboards,
}

// ---------------------------------------------------------------------------
// Templating
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct Templating {
    pub list: Vec<Variable>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Variable {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: VariableType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datasource: Option<DataSourceRef>,
    pub query: VariableQuery,
    /// The value selected when the dashboard opens; absent to let Grafana pick.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<VariableOption>,
    pub hide: VariableHide,
    pub include_all: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_value: Option<String>,
    pub multi: bool,
    pub options: Vec<VariableOption>,
    pub refresh: VariableRefresh,
    pub regex: String,
    pub skip_url_sync: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<VariableSort>,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VariableType {
    Datasource,
    Query,
}

/// A data source variable's plugin id, or a query variable's data source query.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum VariableQuery {
    Plugin(&'static str),
    Prometheus {
        query: String,
        #[serde(rename = "refId")]
        ref_id: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct VariableOption {
    pub selected: bool,
    pub text: String,
    pub value: String,
}

#[derive(Debug, Clone, Copy)]
pub enum VariableHide {
    DontHide = 0,
    HideLabel = 1,
    HideVariable = 2,
}

#[derive(Debug, Clone, Copy)]
pub enum VariableRefresh {
    Never = 0,
    OnDashboardLoad = 1,
    OnTimeRangeChanged = 2,
}

#[derive(Debug, Clone, Copy)]
pub enum VariableSort {
    Disabled = 0,
    AlphabeticalAsc = 1,
}

serialize_as_number!(CursorSync, VariableHide, VariableRefresh, VariableSort);

// ---------------------------------------------------------------------------
// Annotations
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct Annotations {
    pub list: Vec<Annotation>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Annotation {
    /// Grafana's own annotations and alerts, which every dashboard has.
    BuiltIn(BuiltInAnnotation),
    Prometheus(PromAnnotation),
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuiltInAnnotation {
    pub built_in: u8,
    pub datasource: DataSourceRef,
    pub enable: bool,
    pub hide: bool,
    pub icon_color: &'static str,
    pub name: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// An annotation from a PromQL query: an event wherever the query returns a
/// value above 0. The formats are read by Grafana's Prometheus data source
/// from the annotation itself (the schema leaves them to the data source).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PromAnnotation {
    pub datasource: DataSourceRef,
    pub enable: bool,
    pub hide: bool,
    pub icon_color: &'static str,
    pub name: String,
    pub target: AnnotationTarget,
    pub title_format: String,
    pub text_format: String,
    /// Comma-separated labels that become the event's tags.
    pub tag_keys: String,
    pub use_value_for_time: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnnotationTarget {
    pub ref_id: &'static str,
    pub expr: String,
    /// Query step.
    pub interval: &'static str,
}

// ---------------------------------------------------------------------------
// Panels
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Panel {
    /// `type` and `options`, which go together.
    #[serde(flatten)]
    pub kind: PanelKind,
    pub id: u32,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datasource: Option<DataSourceRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Target>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_config: Option<FieldConfigSource>,
    pub grid_pos: GridPos,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    /// Lower limit of `$__interval`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<&'static str>,
    /// Repeat the panel for each value of this variable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_direction: Option<RepeatDirection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_per_row: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transformations: Vec<Transformation>,
}

/// The panel plugin and its options.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type")]
pub enum PanelKind {
    #[serde(rename = "row")]
    Row { collapsed: bool, panels: Vec<Panel> },
    #[serde(rename = "stat")]
    Stat { options: StatOptions },
    #[serde(rename = "gauge")]
    Gauge { options: GaugeOptions },
    #[serde(rename = "bargauge")]
    BarGauge { options: BarGaugeOptions },
    #[serde(rename = "timeseries")]
    TimeSeries { options: TimeSeriesOptions },
    #[serde(rename = "state-timeline")]
    StateTimeline { options: StateTimelineOptions },
    #[serde(rename = "table")]
    Table { options: TableOptions },
    #[serde(rename = "text")]
    Text { options: TextOptions },
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct GridPos {
    pub h: u32,
    pub w: u32,
    pub x: u32,
    pub y: u32,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RepeatDirection {
    H,
    V,
}

/// A Prometheus query of a panel.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub datasource: DataSourceRef,
    pub editor_mode: EditorMode,
    pub expr: String,
    pub legend_format: String,
    pub range: bool,
    pub instant: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<TargetFormat>,
    /// Set by the panel builder: `A`, `B`, … in order.
    pub ref_id: String,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EditorMode {
    Code,
    Builder,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetFormat {
    TimeSeries,
    Table,
}
