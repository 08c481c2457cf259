//! Who is on the other end of the connection, before anyone is authenticated: the client's
//! address (behind a declared proxy, the address that proxy saw) and per-address rate limits.
//!
//! Limits by address come before authentication so that a flood of requests, or of guesses at
//! tokens and passwords, costs the server little and gets nowhere.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use shared::Timestamp;

use crate::AppState;
use crate::error::AppError;

/// The client's address, in every request's extensions (absent only when the router is driven
/// without a socket, as in-process tests do).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Per-address limits and the proxies whose `X-Forwarded-For` is believed.
pub struct ClientLimits {
    /// Every request, by address.
    requests: DefaultKeyedRateLimiter<IpAddr>,
    /// Failed authentications (unknown tokens, wrong passwords) and login attempts, by address.
    auth_attempts: DefaultKeyedRateLimiter<IpAddr>,
    /// The same limit, counted across instances when they share a store ([`auth_attempt`]).
    auth_attempts_per_min: u32,
    trusted_proxies: Vec<IpAddr>,
    /// Plain HTTP off loopback behind a declared proxy: only the proxies may connect.
    proxies_only: bool,
}

/// Keyed limiters remember every address they saw; past this many they forget the idle ones.
const ADDRESSES_KEPT: usize = 10_000;

impl ClientLimits {
    pub fn new(requests_per_s: u32, auth_attempts_per_min: u32, trusted_proxies: Vec<IpAddr>, proxies_only: bool) -> Self {
        let n = |n: u32| NonZeroU32::new(n.max(1)).expect("max(1) is non-zero");
        Self {
            requests: RateLimiter::keyed(Quota::per_second(n(requests_per_s)).allow_burst(n(requests_per_s.saturating_mul(2)))),
            auth_attempts: RateLimiter::keyed(Quota::per_minute(n(auth_attempts_per_min)).allow_burst(n(auth_attempts_per_min))),
            auth_attempts_per_min,
            trusted_proxies: trusted_proxies.into_iter().map(|p| p.to_canonical()).collect(),
            proxies_only,
        }
    }

    /// The address a request comes from: the peer, or, when the peer is a declared proxy, the
    /// last address in `X-Forwarded-For` (the one the proxy itself appended).
    pub fn client_of(&self, peer: IpAddr, headers: &axum::http::HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusted_proxies.contains(&peer) {
            return peer;
        }
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .next_back()
            .map_or(peer, |a| a.to_canonical())
    }

    /// Counts one authentication attempt (or failure) from `addr`; `Err` once there were too many.
    pub fn auth_attempt(&self, addr: Option<ClientAddr>) -> Result<(), AppError> {
        let Some(ClientAddr(ip)) = addr else { return Ok(()) };
        forget_idle(&self.auth_attempts);
        self.auth_attempts.check_key(&bucket(ip)).map_err(|_| AppError::RateLimited)
    }

    pub fn is_trusted_proxy(&self, peer: IpAddr) -> bool {
        self.trusted_proxies.contains(&peer.to_canonical())
    }
}

/// Counts an authentication attempt (a login, a password check, a bad token) from `addr`, here
/// and, when instances share a store, across all of them: a guesser spreading attempts over the
/// instances behind a load balancer gets no more tries than one instance allows.
pub async fn auth_attempt(state: &AppState, addr: Option<ClientAddr>) -> Result<(), AppError> {
    state.clients.auth_attempt(addr)?;
    let Some(ClientAddr(ip)) = addr else { return Ok(()) };
    shared_hit(state, &format!("auth {}", bucket(ip)), Timestamp::MINUTE, state.clients.auth_attempts_per_min).await
}

/// One hit on `key` in the current fixed window of `window_ms`, counted by the shared store;
/// `Err` past `limit` hits in the window. Free when the store is this process's own.
pub async fn shared_hit(state: &AppState, key: &str, window_ms: i64, limit: u32) -> Result<(), AppError> {
    match state.store.count_hit(key, window_ms).await? {
        Some(hits) if hits > u64::from(limit.max(1)) => Err(AppError::RateLimited),
        _ => Ok(()),
    }
}

/// What a limit counts by: an IPv4 address, or an IPv6 /64 (one subscriber's usual share, so
/// walking through its addresses does not reset the count).
fn bucket(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

fn forget_idle(limiter: &DefaultKeyedRateLimiter<IpAddr>) {
    if limiter.len() > ADDRESSES_KEPT {
        limiter.retain_recent();
        limiter.shrink_to_fit();
    }
}

/// Middleware on every route: notes the client's address and applies its request limit.
pub async fn identify(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let limits: &Arc<ClientLimits> = &state.clients;
        if limits.proxies_only && !limits.is_trusted_proxy(peer.ip()) {
            return AppError::Forbidden("plain HTTP is served to the declared proxy only: connect through it (https)".into())
                .into_response();
        }
        let ip = limits.client_of(peer.ip(), req.headers());
        forget_idle(&limits.requests);
        if limits.requests.check_key(&bucket(ip)).is_err() {
            return AppError::RateLimited.into_response();
        }
        req.extensions_mut().insert(ClientAddr(ip));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_a_declared_proxy() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let limits = ClientLimits::new(10, 10, vec![proxy], false);
        let mut h = axum::http::HeaderMap::new();
        h.append("x-forwarded-for", "203.0.113.9, 198.51.100.7".parse().unwrap());
        assert_eq!(limits.client_of(proxy, &h), "198.51.100.7".parse::<IpAddr>().unwrap());
        let stranger: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(limits.client_of(stranger, &h), stranger);
        assert_eq!(limits.client_of(proxy, &axum::http::HeaderMap::new()), proxy);
    }

    #[test]
    fn auth_attempts_run_out_per_address() {
        let limits = ClientLimits::new(10, 3, vec![], false);
        let a = Some(ClientAddr("192.0.2.1".parse().unwrap()));
        let b = Some(ClientAddr("192.0.2.2".parse().unwrap()));
        for _ in 0..3 {
            limits.auth_attempt(a).unwrap();
        }
        assert!(limits.auth_attempt(a).is_err());
        assert!(limits.auth_attempt(b).is_ok());
        // An IPv6 /64 is one bucket, however many addresses it walks through; an IPv4 address
        // written as IPv6 is that IPv4 address.
        for i in 0..3 {
            limits.auth_attempt(Some(ClientAddr(format!("2001:db8:1:2::{i}").parse().unwrap()))).unwrap();
        }
        assert!(limits.auth_attempt(Some(ClientAddr("2001:db8:1:2:ffff::9".parse().unwrap()))).is_err());
        assert!(limits.auth_attempt(Some(ClientAddr("::ffff:192.0.2.1".parse().unwrap()))).is_err());
    }
}
