//! The API description is generated from the routes and types (`onsite_server::openapi`); these
//! tests check what generation alone cannot: that the server serves it, that every documented
//! operation reaches a handler (never the router's fallback), that every body and answer has a
//! real schema, and that a wrong route or method still gets a JSON error. The fuzzing against it
//! is `scripts/schemathesis.sh`.

use serde_json::Value;

use crate::World;

#[tokio::test]
async fn the_served_description_reaches_every_handler_and_says_what_each_takes_and_gives() {
    let w = World::new().await;
    let (_tech, dev) = w.technician("李明").await;
    let device_token = dev.with(|s| s.meta("token").unwrap().unwrap());
    let http = reqwest::Client::new();
    let served: Value = http.get(format!("{}/openapi.json", w.server.url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(served, serde_json::to_value(onsite_server::openapi()).unwrap(), "the server serves the generated description");
    let schemas = served["components"]["schemas"].as_object().unwrap();

    let mut operations = 0;
    for (path, ops) in served["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            operations += 1;
            let what = format!("{} {path}", method.to_uppercase());
            // Typed, not `{"type": "object"}`: a body names its schema or says its bytes.
            if let Some(body) = op.get("requestBody") {
                for (content_type, c) in body["content"].as_object().unwrap() {
                    let schema = &c["schema"];
                    let named = schema["$ref"].as_str().or(schema["items"]["$ref"].as_str());
                    if let Some(r) = named {
                        let name = r.rsplit('/').next().unwrap();
                        assert!(schemas.contains_key(name), "{what}: {name} is described");
                    } else {
                        assert!(!content_type.contains("json") || schema["type"] == "array", "{what}: untyped JSON body {schema}");
                    }
                }
            }
            let answers = op["responses"].as_object().unwrap();
            assert!(answers.keys().any(|c| c.starts_with('2')), "{what}: a success answer");
            for code in ["400", "429", "500"] {
                assert!(answers.contains_key(code), "{what}: {code} documented");
            }
            if op.get("security").is_some() {
                assert!(answers.contains_key("401") && answers.contains_key("403"), "{what}: 401/403 documented");
            }

            let url = format!(
                "{}{}",
                w.server.url(),
                path.replace("{hash}", &"0".repeat(64))
                    .replace("{id}", &shared::JobId::new().to_string())
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
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            if path.ends_with("/events") {
                assert_eq!(status, 200, "{what}");
                continue;
            }
            let body = r.text().await.unwrap_or_default();
            assert_ne!(status, 405, "{what}: method not routed");
            assert!(!body.contains("no route"), "{what}: reached the fallback ({status} {body})");
            assert!(answers.contains_key(&status.to_string()), "{what}: answered {status}, which is not documented ({body})");
        }
    }
    assert!(operations >= 50, "{operations} operations");

    // What the router itself answers is JSON too.
    let r = http.get(format!("{}/admin/v1/nothing-here", w.server.url())).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "not_found");
    assert!(e["error"]["message"].as_str().unwrap().contains("no route"), "{e}");
    let r = http.delete(format!("{}/admin/v1/kpis", w.server.url())).bearer_auth(&w.dispatcher.token).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET,HEAD");
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "method_not_allowed");

    // And a person can read it.
    let page = http.get(format!("{}/api-docs", w.server.url())).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("/admin/v1/jobs/{id}/assign") && page.contains("NewJob"), "the docs page lists operations and schemas");
}
