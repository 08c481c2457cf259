//! Job changes between instances over `LISTEN`/`NOTIFY` on the channel `onsite_jobs`: each
//! instance announces the jobs it changed (`<instance> <job>`) and hears the others'. A dropped
//! listening connection is made again with backoff, and its listener is told
//! [`Heard::Lagged`]: what was announced in between is lost, so live screens reload.

use std::time::Duration;

use futures_util::StreamExt;
use onsite_store::Heard;
use tokio_postgres::AsyncMessage;

pub(crate) const CHANNEL: &str = "onsite_jobs";

/// Listens until the process ends.
pub(crate) fn spawn_listener(
    config: tokio_postgres::Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    instance: String,
    heard: Box<dyn Fn(Heard) + Send + Sync>,
) {
    tokio::spawn(async move {
        let mut connected_before = false;
        let mut backoff = Duration::from_millis(500);
        loop {
            match config.connect(tls.clone()).await {
                Ok((client, mut connection)) => {
                    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
                    // The connection is driven here: its notifications come out of it.
                    let driver = tokio::spawn(async move {
                        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                        while let Some(message) = messages.next().await {
                            match message {
                                Ok(AsyncMessage::Notification(n)) => {
                                    if tx.send(n.payload().to_owned()).is_err() {
                                        break;
                                    }
                                }
                                Ok(_) => {}
                                Err(e) => {
                                    tracing::warn!(error = %e, "the job change feed's connection broke; reconnecting");
                                    break;
                                }
                            }
                        }
                    });
                    match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                        Ok(()) => {
                            if connected_before {
                                heard(Heard::Lagged);
                            }
                            connected_before = true;
                            backoff = Duration::from_millis(500);
                            while let Some(payload) = rx.recv().await {
                                // Its own announcements it already told its own screens.
                                if let Some((from, job)) = payload.split_once(' ')
                                    && from != instance
                                    && let Ok(job) = job.parse()
                                {
                                    heard(Heard::Job(job));
                                }
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "could not listen for other instances' job changes"),
                    }
                    driver.abort();
                }
                Err(e) => tracing::warn!(error = %e, "the job change feed cannot connect; retrying"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    });
}
