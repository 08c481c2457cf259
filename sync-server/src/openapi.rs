//! The API's description, generated: each handler declares its route, parameters, body and
//! answer next to its code (`#[utoipa::path]`), the types give the schemas, and what holds for
//! whole groups of routes because of the router's layers (who may call, the error answers every
//! request can get, idempotency keys) is added here once, from the same facts the layers use.
//!
//! Served at [`SPEC_PATH`] (JSON) and [`DOCS_PATH`] (a page to read it in a browser, made on
//! the server so it works with no network).

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use utoipa::Modify;
use utoipa::openapi::path::{HttpMethod, Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Required};

use crate::ADMIN_SESSION_PATH;

/// Where the description is served.
pub const SPEC_PATH: &str = "/openapi.json";
/// Where it can be read in a browser.
pub const DOCS_PATH: &str = "/api-docs";

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "OnSite sync server",
        description = "Device sync, photos (content-addressed blobs) and the dispatcher endpoint.\n\n\
            Every error is JSON `{\"error\": {\"code\", \"message\"}}`. Times are ISO 8601 with their zone \
            (answers in UTC, e.g. `2026-11-24T01:30:00.000Z`). Money is in integer minor units \
            (fen for CNY). Ids are UUIDv7. Unknown fields in a body are refused.",
        license(name = "Apache-2.0")
    ),
    components(schemas(shared::wire::http::ErrorEnvelope, crate::admin::reference::ReferenceKind, crate::admin::views::KpiGroup)),
    tags(
        (name = "device", description = "What a technician's phone calls: pairing, sync, photos"),
        (name = "session", description = "Logging in to the console; one's own account"),
        (name = "accounts", description = "Office accounts, API tokens and the audit log (admins)"),
        (name = "technicians", description = "Technicians, their devices and pairing codes"),
        (name = "jobs", description = "Creating, assigning and changing jobs; what a dispatcher reads"),
        (name = "reference", description = "Catalog, price list, knowledge base and van stock"),
        (name = "reports", description = "KPIs, the live event stream, erasure of personal data"),
    )
)]
pub struct ApiDoc;

/// The description of `routes`: theirs plus what the router's layers make true of them.
pub fn describe(routes: OpenApi) -> OpenApi {
    let mut api = <ApiDoc as utoipa::OpenApi>::openapi().merge_from(routes);
    Conventions.modify(&mut api);
    api
}

/// What the router's layers make true of whole groups of routes.
struct Conventions;

const ERROR: &str = "Error";

impl Modify for Conventions {
    fn modify(&self, api: &mut OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "device",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("the device token from POST /v1/pair")).build(),
            ),
        );
        components.add_security_scheme(
            "dispatcher",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "an office account's API token (osa_…); the role of the account and of the token decide what it may do: \
                         viewer reads, dispatcher also changes jobs, admin also manages accounts, technicians and reference data",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::staff::SESSION_COOKIE,
                "a browser session from POST /admin/v1/session; changes made with it must come from this server's pages (Origin)",
            ))),
        );
        let error = ResponseBuilder::new()
            .description("An error: a stable code and a message a person can act on")
            .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorEnvelope"))).build())
            .build();
        components.responses.insert(ERROR.into(), RefOr::T(error));

        for (path, item) in api.paths.paths.iter_mut() {
            let ops = [
                (HttpMethod::Get, &mut item.get),
                (HttpMethod::Post, &mut item.post),
                (HttpMethod::Put, &mut item.put),
                (HttpMethod::Patch, &mut item.patch),
                (HttpMethod::Delete, &mut item.delete),
                (HttpMethod::Head, &mut item.head),
            ];
            for (method, op) in ops {
                if let Some(op) = op {
                    conventions(path, method, op);
                }
            }
        }
    }
}

/// Who may call (`staff::authenticate` on `/admin/v1`, `auth::DeviceAuth` on `/v1`), the
/// errors any request there can get, and the idempotency key of the dispatcher's POSTs.
fn conventions(path: &str, method: HttpMethod, op: &mut Operation) {
    let admin = path.starts_with("/admin/");
    let open = matches!(path, "/health" | shared::wire::http::PAIR_PATH) || (path == ADMIN_SESSION_PATH && method == HttpMethod::Post);
    if !open {
        op.security = Some(if admin {
            vec![SecurityRequirement::new("dispatcher", Vec::<String>::new()), SecurityRequirement::new("session", Vec::<String>::new())]
        } else {
            vec![SecurityRequirement::new("device", Vec::<String>::new())]
        });
    }
    // 422: the right shape, refused by a rule of content (an appointment ending before it starts).
    let mut codes = vec!["400", "422", "429", "500"];
    if !open || path == ADMIN_SESSION_PATH {
        codes.extend(["401", "403"]);
    }
    if path.contains('{') || !open {
        codes.push("404");
    }
    if matches!(method, HttpMethod::Post | HttpMethod::Put | HttpMethod::Patch | HttpMethod::Delete) {
        // 409: the change conflicts with the job's or account's state (or, for a POST with an
        // idempotency key, the key is in flight or was used for another request).
        codes.extend(["409", "413"]);
    }
    if admin && method == HttpMethod::Post {
        let key = ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "a retried request with the same key gets the first answer instead of making the change again (kept a day; answers holding secrets are not kept)",
            ))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[!-~]{1,200}$"))))
            .build();
        op.parameters.get_or_insert_with(Vec::new).push(RefOr::T(key));
    }
    for (code, r) in op.responses.responses.iter_mut() {
        if let RefOr::T(r) = r
            && r.description.is_empty()
        {
            r.description = if code.starts_with('2') { "the answer".into() } else { "an error".into() };
        }
    }
    for code in codes {
        op.responses.responses.entry(code.to_owned()).or_insert_with(|| RefOr::Ref(Ref::from_response_name(ERROR)));
    }
}

pub use crate::body::Binary;

/// `GET /openapi.json`.
pub async fn spec(axum::extract::State(spec): axum::extract::State<bytes::Bytes>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], spec).into_response()
}

/// `GET /api-docs`: every operation with its parameters, body and answers, linked to the schemas.
pub fn docs_page(api: &OpenApi) -> Html<String> {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    fn json<T: serde::Serialize>(v: &T) -> String {
        serde_json::to_string_pretty(v).unwrap_or_default().replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
    }
    let mut ops = String::new();
    for (path, item) in &api.paths.paths {
        for (method, op) in [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
            ("HEAD", &item.head),
        ] {
            let Some(op) = op else { continue };
            let summary = op.summary.as_deref().unwrap_or_default();
            let description = op.description.as_deref().unwrap_or_default();
            let params = op.parameters.as_ref().map(json).unwrap_or_default();
            let body = op.request_body.as_ref().map(json).unwrap_or_default();
            let answers = json(&op.responses);
            ops.push_str(&format!(
                "<details><summary><b>{method}</b> <code>{path}</code> — {summary}</summary><p>{description}</p>\
                 {params_h}{body_h}<h4>Answers</h4><pre>{answers}</pre></details>\n",
                path = esc(path),
                summary = esc(summary),
                description = esc(description),
                params_h = if params.is_empty() { String::new() } else { format!("<h4>Parameters</h4><pre>{params}</pre>") },
                body_h = if body.is_empty() { String::new() } else { format!("<h4>Body</h4><pre>{body}</pre>") },
            ));
        }
    }
    let schemas = api
        .components
        .as_ref()
        .map(|c| {
            c.schemas
                .iter()
                .map(|(name, s)| {
                    format!("<details id=\"{n}\"><summary><code>{n}</code></summary><pre>{}</pre></details>\n", json(s), n = esc(name))
                })
                .collect::<String>()
        })
        .unwrap_or_default();
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>OnSite API</title><style>body{{font:15px system-ui,sans-serif;max-width:70rem;margin:1rem auto;padding:0 1rem}}\
         details{{border-bottom:1px solid #ddd;padding:.3rem 0}}pre{{background:#f6f6f6;padding:.5rem;overflow:auto;font-size:13px}}</style></head>\
         <body><h1>OnSite API · 接口说明</h1><p>{intro}</p><p>Machine-readable: <a href=\"{SPEC_PATH}\">{SPEC_PATH}</a> (OpenAPI {version}).</p>\
         <h2>Operations · 接口</h2>{ops}<h2>Schemas · 数据结构</h2>{schemas}</body></html>",
        intro = esc(api.info.description.as_deref().unwrap_or_default()),
        version = esc(&serde_json::to_value(&api.openapi).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()),
    ))
}
