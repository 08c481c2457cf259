//! The signature pad: pointer events become strokes kept as vectors (drawn back as SVG here and
//! in the report).

use dioxus::prelude::*;
use shared::signature::Strokes;

use crate::ui::Lang;

#[component]
pub fn SignaturePad(lang: Lang, on_done: EventHandler<Strokes>) -> Element {
    let mut strokes = use_signal(Vec::<Vec<(i16, i16)>>::new);
    let mut drawing = use_signal(|| false);
    let point = |e: &PointerEvent| {
        let p = e.element_coordinates();
        (p.x.clamp(-32_000.0, 32_000.0) as i16, p.y.clamp(-32_000.0, 32_000.0) as i16)
    };
    let paths: Vec<String> = strokes
        .read()
        .iter()
        .map(|s| s.iter().enumerate().map(|(i, (x, y))| format!("{}{x} {y}", if i == 0 { "M" } else { " L" })).collect())
        .collect();
    let empty = !strokes.read().iter().any(|s| s.len() >= 2);
    rsx! {
        svg { class: "pad", "data-testid": "signature-pad",
            onpointerdown: move |e| { drawing.set(true); strokes.write().push(vec![point(&e)]); },
            onpointermove: move |e| { if drawing() && let Some(s) = strokes.write().last_mut() { s.push(point(&e)); } },
            onpointerup: move |_| drawing.set(false),
            onpointerleave: move |_| drawing.set(false),
            for d in paths { path { d: "{d}", fill: "none", stroke: "#111", stroke_width: "3", stroke_linecap: "round" } }
        }
        div { class: "row",
            button { class: "secondary", onclick: move |_| strokes.set(Vec::new()), {lang.t("清除", "Clear")} }
            button { "data-testid": "sign-confirm", disabled: empty,
                onclick: move |_| { on_done.call(Strokes(strokes.read().clone())); strokes.set(Vec::new()); },
                {lang.t("确认签名", "Confirm signature")}
            }
        }
    }
}
