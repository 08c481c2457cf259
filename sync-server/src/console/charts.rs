//! Bar charts drawn as SVG on the server: no chart library in the browser, and each bar carries
//! its label and value as attributes, so a test (or a screen reader) reads the numbers exactly.

use dioxus::prelude::*;

/// One bar: what it is, its value, and the value as shown.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub text: String,
}

impl Bar {
    pub fn new(label: impl Into<String>, value: f64, text: impl Into<String>) -> Self {
        Bar { label: label.into(), value, text: text.into() }
    }
}

const WIDTH: f64 = 560.0;
const LABEL_W: f64 = 170.0;
const ROW_H: f64 = 24.0;

/// Horizontal bars scaled to `max` (or the largest value); negative values draw as empty bars.
#[component]
pub fn BarChart(title: String, test_id: String, bars: Vec<Bar>, max: Option<f64>, empty: String) -> Element {
    let top = max.unwrap_or_else(|| bars.iter().map(|b| b.value).fold(0.0, f64::max)).max(f64::MIN_POSITIVE);
    let height = ROW_H * bars.len().max(1) as f64 + 8.0;
    let span = WIDTH - LABEL_W - 70.0;
    rsx! {
        figure { class: "chart", "data-testid": "chart", "data-chart": "{test_id}",
            figcaption { "{title}" }
            if bars.is_empty() {
                p { class: "empty", "{empty}" }
            } else {
                svg { width: "{WIDTH}", height: "{height}", view_box: "0 0 {WIDTH} {height}", role: "img", "aria-label": "{title}",
                    for (i, b) in bars.iter().enumerate() {
                        g { key: "{i}",
                            text { x: "{LABEL_W - 6.0}", y: "{ROW_H * i as f64 + 16.0}", "text-anchor": "end", class: "bar-label", "{b.label}" }
                            rect { class: "bar", "data-label": "{b.label}", "data-value": "{b.value}",
                                x: "{LABEL_W}", y: "{ROW_H * i as f64 + 4.0}", height: "{ROW_H - 8.0}",
                                width: "{(b.value.max(0.0) / top * span).clamp(0.0, span)}" }
                            text { x: "{LABEL_W + (b.value.max(0.0) / top * span).clamp(0.0, span) + 6.0}", y: "{ROW_H * i as f64 + 16.0}", class: "bar-value", "{b.text}" }
                        }
                    }
                }
            }
        }
    }
}
