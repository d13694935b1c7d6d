//! Attack: thousands of held WebSocket connections and oversized messages. Alone in its own
//! test binary so its memory figure is not mixed with other tests'.

mod common;

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

const CAP: usize = 500;
const ATTEMPTS: usize = 2000;

/// Attack: 2 000 WebSocket clients connect and hold their sessions (the original accepted
/// them all: 4 000 sessions, 615 MB). With `ws_max_sessions = 500`, 500 are accepted and
/// 1 500 refused with 503 before any WebSocket buffer exists; memory per held session is
/// measured (client and server are both in this process) and bounded. A 100 KiB message
/// (over `ws_max_message`, 64 KiB) ends that session; the cap frees its slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_past_the_cap_are_refused_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.ws_max_sessions = CAP;
    let (running, base) = common::start(config).await;
    let url = format!("{}/ws", base.replace("http://", "ws://"));
    let rss_before = common::rss_kib();
    let began = Instant::now();
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..ATTEMPTS {
        match tokio_tungstenite::connect_async(&url).await {
            Ok((ws, _)) => held.push(ws),
            Err(WsError::Http(response)) => {
                assert_eq!(response.status(), 503);
                refused += 1;
            }
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    let took = began.elapsed();
    assert_eq!((held.len(), refused), (CAP, ATTEMPTS - CAP));
    // Every accepted session is live (its hello arrives).
    for ws in &mut held {
        let hello = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap();
        assert!(matches!(hello, Some(Ok(Message::Text(_)))), "{hello:?}");
    }
    let stats = running.hub.stats();
    assert_eq!(
        (stats.sessions, stats.refused),
        (CAP, (ATTEMPTS - CAP) as u64)
    );
    let grown = common::rss_kib().saturating_sub(rss_before);
    let per_session = grown / CAP as u64;
    eprintln!(
        "{ATTEMPTS} attempts in {took:?}: {CAP} held, {refused} refused; RSS +{grown} KiB \
         (+{per_session} KiB per held session, client and server together)"
    );
    assert!(grown < 64 * 1024, "RSS grew {grown} KiB for {CAP} sessions");

    // An oversized message ends that session and frees its slot.
    let mut big = held.pop().unwrap();
    big.send(Message::Text("x".repeat(100 * 1024).into()))
        .await
        .unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match big.next().await {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the oversized message did not end the session"
    );
    let deadline = Instant::now() + Duration::from_secs(2);
    while running.hub.stats().sessions >= CAP {
        assert!(Instant::now() < deadline, "slot not freed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (again, _) = tokio_tungstenite::connect_async(&url).await.unwrap();

    let began = Instant::now();
    let report = running.stop().await;
    eprintln!("stop with {CAP} sessions open: {:?}", began.elapsed());
    assert!(report.is_clean(), "{}", report.summary());
    drop((held, again));
}
