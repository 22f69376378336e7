//! Each panel plugin's `options` and the transformations a panel applies,
//! as the plugins' schemas (`@grafana/schema` `panelcfg`) spell them.

use std::collections::BTreeMap;

use serde::Serialize;

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
