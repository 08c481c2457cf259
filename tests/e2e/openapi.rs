//! The OpenAPI file describes the real routes: every documented operation reaches a handler of
//! the running server (never the router's bare 404 / 405), and every route the server answers
//! is documented.

use serde_json::Value;

use crate::World;

const SPEC: &str = include_str!("../../sync-server/openapi.json");

#[tokio::test]
async fn every_documented_operation_is_served_and_every_route_documented() {
    let w = World::new().await;
    let (_tech, dev) = w.technician("李明").await;
    let device_token = dev.with(|s| s.meta("token").unwrap().unwrap());
    let spec: Value = serde_json::from_str(SPEC).unwrap();
    let http = reqwest::Client::new();
    let mut documented = Vec::new();
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            documented.push(format!("{} {path}", method.to_uppercase()));
            let url = format!(
                "{}{}",
                w.server.url(),
                path.replace("{hash}", &"0".repeat(64))
                    .replace("{id}", &shared::JobId::new().to_string())
                    .replace("{action}", "cancel")
                    .replace("{kind}", "catalog")
                    .replace("{version}", "1")
            );
            let token = match op["security"]
                .as_array()
                .and_then(|s| s.first())
                .and_then(|s| s.as_object())
                .and_then(|o| o.keys().next().cloned())
            {
                Some(k) if k == "device" => Some(device_token.clone()),
                Some(_) => Some(w.dispatcher.token.clone()),
                None => None,
            };
            let mut req = http.request(method.to_uppercase().parse().unwrap(), &url).header("onsite-job", shared::JobId::new().to_string());
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            if path.ends_with("/events") {
                let r = req.send().await.unwrap();
                assert_eq!(r.status(), 200, "{method} {path}");
                continue;
            }
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let body = r.text().await.unwrap_or_default();
            assert_ne!(status, 405, "{method} {path}: method not routed");
            // Our handlers answer 404 with a JSON error; the router's fallback has an empty body.
            assert!(status != 404 || body.contains("\"error\"") || method == "head", "{method} {path}: not routed ({status} {body:?})");
        }
    }
    // The reverse: routes the server has (kept in step with `onsite_server::router`).
    let served = [
        "GET /health",
        "POST /v1/pair",
        "POST /v1/sync",
        "GET /v1/jobs/{id}/history",
        "HEAD /v1/blobs/{hash}",
        "PATCH /v1/blobs/{hash}",
        "GET /v1/blobs/{hash}",
        "GET /admin/v1/technicians",
        "POST /admin/v1/technicians",
        "GET /admin/v1/technicians/{id}",
        "GET /admin/v1/technicians/{id}/devices",
        "POST /admin/v1/technicians/{id}/pairing-codes",
        "POST /admin/v1/technicians/{id}/deactivate",
        "PUT /admin/v1/technicians/{id}/working-hours",
        "PUT /admin/v1/technicians/{id}/van-stock",
        "POST /admin/v1/devices/{id}/revoke",
        "POST /admin/v1/jobs",
        "GET /admin/v1/jobs",
        "GET /admin/v1/jobs/{id}",
        "GET /admin/v1/jobs/{id}/suggestions",
        "POST /admin/v1/jobs/{id}/auto-assign",
        "GET /admin/v1/jobs/{id}/self-service",
        "POST /admin/v1/jobs/{id}/self-service",
        "GET /admin/v1/jobs/{id}/report.html",
        "POST /admin/v1/jobs/{id}/customer-photos",
        "POST /admin/v1/jobs/{id}/{action}",
        "GET /admin/v1/kpis",
        "GET /admin/v1/events",
        "PUT /admin/v1/reference/{kind}",
        "GET /admin/v1/reference/{kind}/versions",
        "GET /admin/v1/reference/{kind}/{version}",
        "GET /admin/v1/blobs/{hash}",
        "POST /admin/v1/session",
        "GET /admin/v1/session",
        "DELETE /admin/v1/session",
        "PUT /admin/v1/session/password",
        "GET /admin/v1/accounts",
        "POST /admin/v1/accounts",
        "PATCH /admin/v1/accounts/{id}",
        "GET /admin/v1/accounts/{id}/tokens",
        "POST /admin/v1/accounts/{id}/tokens",
        "POST /admin/v1/tokens/{id}/revoke",
        "POST /admin/v1/tokens/{id}/rotate",
        "GET /admin/v1/audit",
        "POST /admin/v1/erasures",
    ];
    documented.sort();
    let mut served: Vec<String> = served.iter().map(|s| s.to_string()).collect();
    served.sort();
    assert_eq!(documented, served);
    // A route that does not exist is the router's bare 404 (so the check above can fail).
    let r = http.get(format!("{}/admin/v1/nothing-here", w.server.url())).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(!r.text().await.unwrap().contains("\"error\""));
}
