//! When each device was last heard from, kept in memory and written to the store at most once a
//! minute per device (or when its pending work changes): a sync round that changes nothing must
//! not cost a durable write.
//!
//! Rounds of one device less than [`SESSION_GAP_MS`] apart are one sync; the end of the previous
//! one is what the backdating check compares event dates with (whatever the device had made by
//! then, it would have sent then).

use std::collections::HashMap;
use std::sync::Mutex;

use shared::wire::PendingWork;
use shared::{DeviceId, Timestamp};

use crate::store::{Result, Store};

/// Rounds less than this apart belong to one sync.
pub const SESSION_GAP_MS: i64 = 60_000;
/// How stale the stored "last seen" may get.
pub const PERSIST_EVERY_MS: i64 = 60_000;
/// Longest a run of close rounds counts as one sync: a phone that syncs without pause moves its
/// reference point on at least this often.
pub const SESSION_MAX_MS: i64 = 10 * 60_000;

#[derive(Clone, Copy, Debug)]
struct Seen {
    last: Timestamp,
    session_start: Timestamp,
    previous_sync_end: Option<Timestamp>,
    persisted_at: Timestamp,
    pending: PendingWork,
}

#[derive(Default)]
pub struct Presence {
    devices: Mutex<HashMap<DeviceId, Seen>>,
    /// One sync round per device at a time (the app never runs two; a second is refused).
    rounds: Mutex<HashMap<DeviceId, std::sync::Arc<tokio::sync::Mutex<()>>>>,
    /// Each device's lineage (itself and the devices it took over): fixed when it paired.
    lineages: Mutex<HashMap<DeviceId, Vec<DeviceId>>>,
}

impl Presence {
    /// The device's round slot, or `None` while another of its rounds is running.
    pub fn round_slot(&self, device: DeviceId) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        let slot = self.rounds.lock().unwrap_or_else(|e| e.into_inner()).entry(device).or_default().clone();
        slot.try_lock_owned().ok()
    }

    /// The device and the devices it took over (see `Store::device_lineage`), read once.
    pub async fn lineage(&self, store: &dyn Store, device: DeviceId) -> Result<Vec<DeviceId>> {
        if let Some(l) = self.lineages.lock().unwrap_or_else(|e| e.into_inner()).get(&device) {
            return Ok(l.clone());
        }
        let l = store.device_lineage(device).await?;
        self.lineages.lock().unwrap_or_else(|e| e.into_inner()).insert(device, l.clone());
        Ok(l)
    }

    /// Records a round of `device` at `now`; returns when its previous sync ended.
    pub async fn record(&self, store: &dyn Store, device: DeviceId, now: Timestamp, pending: PendingWork) -> Result<Option<Timestamp>> {
        let known = self.devices.lock().unwrap_or_else(|e| e.into_inner()).get(&device).copied();
        // First round since the server started: what the store remembers.
        let before = match known {
            Some(s) => Some(s),
            None => store.device_last_seen(device).await?.map(|last| Seen {
                last,
                session_start: last,
                previous_sync_end: None,
                persisted_at: last,
                pending: PendingWork::default(),
            }),
        };
        let (previous_sync_end, session_start) = match before {
            Some(s) if now.0.saturating_sub(s.last.0) <= SESSION_GAP_MS && now.0.saturating_sub(s.session_start.0) <= SESSION_MAX_MS => {
                (s.previous_sync_end, s.session_start)
            }
            Some(s) => (Some(s.last), now),
            None => (None, now),
        };
        let persist = before.is_none_or(|s| now.0.saturating_sub(s.persisted_at.0) >= PERSIST_EVERY_MS || s.pending != pending);
        let persisted_at = match (persist, before) {
            (false, Some(s)) => s.persisted_at,
            _ => now,
        };
        self.devices
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(device, Seen { last: now, session_start, previous_sync_end, persisted_at, pending });
        if persist {
            store.device_seen(device, now, pending).await?;
        }
        Ok(previous_sync_end)
    }
}
