//! A fault-injecting HTTP proxy on loopback: between a device and the server it drops requests,
//! drops responses after the server acted, duplicates requests and delays them (reordering
//! concurrent ones), each with a seeded probability.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Pass,
    DropRequest,
    DropResponse,
    Duplicate,
    Delay(u64),
}

pub struct Proxy {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
}

struct Inner {
    target: Mutex<String>,
    rng: Mutex<StdRng>,
    /// Probability (0..=1) that a request meets any fault.
    fault_rate: Mutex<f64>,
    http: reqwest::Client,
    counts: Mutex<[u64; 5]>,
}

impl Proxy {
    pub async fn start(target: &str, seed: u64, fault_rate: f64) -> Proxy {
        let inner = Arc::new(Inner {
            target: Mutex::new(target.to_owned()),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            fault_rate: Mutex::new(fault_rate),
            http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
            counts: Mutex::new([0; 5]),
        });
        let app = axum::Router::new().fallback(forward).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Proxy { addr, inner }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_fault_rate(&self, rate: f64) {
        *self.inner.fault_rate.lock().unwrap() = rate;
    }

    /// How many requests met each fault: pass, drop request, drop response, duplicate, delay.
    pub fn counts(&self) -> [u64; 5] {
        *self.inner.counts.lock().unwrap()
    }
}

impl Inner {
    fn pick(&self) -> Fault {
        let rate = *self.fault_rate.lock().unwrap();
        let mut rng = self.rng.lock().unwrap();
        let f = if rng.random::<f64>() >= rate {
            Fault::Pass
        } else {
            match rng.random_range(0..4) {
                0 => Fault::DropRequest,
                1 => Fault::DropResponse,
                2 => Fault::Duplicate,
                _ => Fault::Delay(rng.random_range(1..60)),
            }
        };
        let i = match f {
            Fault::Pass => 0,
            Fault::DropRequest => 1,
            Fault::DropResponse => 2,
            Fault::Duplicate => 3,
            Fault::Delay(_) => 4,
        };
        self.counts.lock().unwrap()[i] += 1;
        f
    }
}

async fn forward(State(p): State<Arc<Inner>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 << 20).await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let fault = p.pick();
    if fault == Fault::DropRequest {
        return (StatusCode::BAD_GATEWAY, "proxy: request dropped").into_response();
    }
    if let Fault::Delay(ms) = fault {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let target = p.target.lock().unwrap().clone();
    let url = format!("{target}{}", parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    let send = || {
        let mut headers = parts.headers.clone();
        headers.remove(axum::http::header::HOST);
        headers.remove(axum::http::header::CONTENT_LENGTH);
        p.http.request(parts.method.clone(), &url).headers(headers).body(bytes.clone()).send()
    };
    let mut resp = match send().await {
        Ok(r) => r,
        Err(_) => return (StatusCode::BAD_GATEWAY, "proxy: server unreachable").into_response(),
    };
    if fault == Fault::Duplicate {
        match send().await {
            Ok(r) => resp = r,
            Err(_) => return (StatusCode::BAD_GATEWAY, "proxy: server unreachable").into_response(),
        }
    }
    let status = resp.status();
    let headers = resp.headers().clone();
    let Ok(body) = resp.bytes().await else {
        return (StatusCode::BAD_GATEWAY, "proxy: response cut").into_response();
    };
    if fault == Fault::DropResponse {
        return (StatusCode::BAD_GATEWAY, "proxy: response dropped").into_response();
    }
    let mut out = Response::new(Body::from(body));
    *out.status_mut() = status;
    for (k, v) in headers.iter() {
        if k != axum::http::header::CONTENT_LENGTH && k != axum::http::header::TRANSFER_ENCODING {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}
