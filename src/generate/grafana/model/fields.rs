//! A panel's field config: units, thresholds, value mappings, colours and
//! the plugin's own field options (`fieldConfig` in Grafana's JSON).

use std::collections::BTreeMap;

use serde::Serialize;

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
