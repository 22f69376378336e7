//! Grafana's dashboard JSON as Rust types: the part of `@grafana/schema`'s
//! `Dashboard` (Grafana 11) that mimamori writes, so that a misspelt key or a
//! mode Grafana does not know is a compile error rather than a broken panel.
//!
//! Field names are the schema's (`camelCase` on the wire); modes that the
//! schema spells as enums are enums here. `tests/grafana-schema/` checks the
//! serialized result against the schema itself.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

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

// ---------------------------------------------------------------------------
// Field config
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct FieldConfigSource {
    pub defaults: FieldConfig,
    pub overrides: Vec<FieldOverride>,
}

/// Options for every field of the panel's data.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decimals: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<serde_json::Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<serde_json::Number>,
    /// Shown instead of "No data".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_value: Option<String>,
    pub thresholds: Thresholds,
    pub mappings: Vec<ValueMapping>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<FieldColor>,
    /// The panel plugin's own field options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom: Option<Custom>,
}

/// Options for the fields an override matches.
#[derive(Debug, Clone, Serialize)]
pub struct FieldOverride {
    pub matcher: Matcher,
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Matcher {
    pub id: String,
    pub options: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Property {
    pub id: String,
    pub value: serde_json::Value,
}

/// Colours by value: `steps[0]` from −∞, each next one from its `value` on.
#[derive(Debug, Clone, Serialize)]
pub struct Thresholds {
    pub mode: ThresholdsMode,
    pub steps: Vec<Step>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            mode: ThresholdsMode::Absolute,
            steps: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ThresholdsMode {
    Absolute,
    Percentage,
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub color: &'static str,
    /// `None` (JSON `null`) is −∞.
    pub value: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ValueMapping {
    /// Exact values (as text) to a text and colour.
    Value {
        options: BTreeMap<String, MappingResult>,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct MappingResult {
    pub text: &'static str,
    pub color: &'static str,
    pub index: u32,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct FieldColor {
    pub mode: ColorMode,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ColorMode {
    Thresholds,
    PaletteClassic,
}

/// A panel plugin's `fieldConfig.defaults.custom`.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Custom {
    TimeSeries(GraphFieldConfig),
    StateTimeline {
        #[serde(rename = "fillOpacity")]
        fill_opacity: u32,
        #[serde(rename = "lineWidth")]
        line_width: u32,
    },
    Table {
        align: TextAlign,
    },
}

/// Field options of the time series panel.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphFieldConfig {
    pub draw_style: DrawStyle,
    pub line_interpolation: LineInterpolation,
    pub line_width: u32,
    pub fill_opacity: u32,
    pub gradient_mode: GradientMode,
    pub show_points: ShowPoints,
    pub span_nulls: bool,
    pub axis_placement: AxisPlacement,
    pub axis_soft_min: u32,
    pub stacking: Stacking,
    pub thresholds_style: ThresholdsStyle,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DrawStyle {
    Line,
    Bars,
    Points,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum LineInterpolation {
    Linear,
    Smooth,
    StepBefore,
    StepAfter,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GradientMode {
    None,
    Opacity,
    Hue,
    Scheme,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ShowPoints {
    Auto,
    Never,
    Always,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AxisPlacement {
    Auto,
    Left,
    Right,
    Hidden,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stacking {
    pub mode: StackingMode,
    pub group: &'static str,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StackingMode {
    None,
    Normal,
    Percent,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct ThresholdsStyle {
    pub mode: ThresholdsStyleMode,
}

/// How a time series panel draws its thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ThresholdsStyleMode {
    #[serde(rename = "off")]
    Off,
    #[serde(rename = "dashed")]
    Dashed,
    #[serde(rename = "line+area")]
    LineAndArea,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TextAlign {
    Auto,
    Left,
    Right,
    Center,
}

// ---------------------------------------------------------------------------
// Panel options, per plugin
// ---------------------------------------------------------------------------

/// Which value of each series a single-value panel shows.
#[derive(Debug, Clone, Serialize)]
pub struct ReduceOptions {
    pub calcs: Vec<&'static str>,
    pub fields: &'static str,
    pub values: bool,
}

impl ReduceOptions {
    /// The last value that is not null.
    pub fn last() -> Self {
        ReduceOptions {
            calcs: vec!["lastNotNull"],
            fields: "",
            values: false,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Orientation {
    Auto,
    Horizontal,
    Vertical,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatOptions {
    pub reduce_options: ReduceOptions,
    pub color_mode: StatColorMode,
    pub graph_mode: StatGraphMode,
    pub justify_mode: StatJustifyMode,
    pub orientation: Orientation,
    pub text_mode: StatTextMode,
    pub show_percent_change: bool,
    pub wide_layout: bool,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatColorMode {
    Value,
    Background,
    BackgroundSolid,
    None,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StatGraphMode {
    None,
    Line,
    Area,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StatJustifyMode {
    Auto,
    Center,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatTextMode {
    Auto,
    Value,
    ValueAndName,
    Name,
    None,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GaugeOptions {
    pub reduce_options: ReduceOptions,
    pub orientation: Orientation,
    pub show_threshold_labels: bool,
    pub show_threshold_markers: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BarGaugeOptions {
    pub reduce_options: ReduceOptions,
    pub display_mode: BarGaugeDisplayMode,
    pub orientation: Orientation,
    pub show_unfilled: bool,
    pub value_mode: BarGaugeValueMode,
    pub name_placement: BarGaugeNamePlacement,
    pub min_viz_height: u32,
    pub min_viz_width: u32,
    pub sizing: BarGaugeSizing,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BarGaugeDisplayMode {
    Basic,
    Lcd,
    Gradient,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BarGaugeValueMode {
    Color,
    Text,
    Hidden,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BarGaugeNamePlacement {
    Auto,
    Top,
    Left,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BarGaugeSizing {
    Auto,
    Manual,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimeSeriesOptions {
    pub legend: Legend,
    pub tooltip: Tooltip,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateTimelineOptions {
    pub merge_values: bool,
    pub show_value: Visibility,
    pub align_value: Align,
    pub row_height: f64,
    pub legend: Legend,
    pub tooltip: Tooltip,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    Auto,
    Never,
    Always,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Align {
    Left,
    Center,
    Right,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Legend {
    pub display_mode: LegendDisplayMode,
    pub placement: LegendPlacement,
    pub show_legend: bool,
    /// Values shown next to each series (`lastNotNull`, `max`, …).
    pub calcs: Vec<&'static str>,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LegendDisplayMode {
    List,
    Table,
    Hidden,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LegendPlacement {
    Bottom,
    Right,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tooltip {
    pub mode: TooltipMode,
    pub sort: SortOrder,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TooltipMode {
    Single,
    Multi,
    None,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    Asc,
    Desc,
    None,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TableOptions {
    pub show_header: bool,
    pub cell_height: CellHeight,
    pub footer: TableFooter,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CellHeight {
    Sm,
    Md,
    Lg,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableFooter {
    pub show: bool,
    pub reducer: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TextOptions {
    pub mode: TextMode,
    pub content: String,
    pub code: CodeOptions,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TextMode {
    Markdown,
    Html,
    Code,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeOptions {
    pub language: &'static str,
    pub show_line_numbers: bool,
    pub show_mini_map: bool,
}

/// A step that reshapes the query results before the panel draws them.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "id", content = "options", rename_all = "lowercase")]
pub enum Transformation {
    /// Joins the results of several queries into one table.
    Merge {},
    Organize(Organize),
}

/// Hides and renames table columns.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Organize {
    pub exclude_by_name: BTreeMap<String, bool>,
    pub rename_by_name: BTreeMap<String, String>,
    pub index_by_name: BTreeMap<String, u32>,
}
