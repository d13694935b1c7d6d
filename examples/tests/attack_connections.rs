//! Connection-level attacks from loopback: slowloris, thousands of idle connections, more
//! connections than the cap. Raw TCP clients, the platform in-process.

mod common;

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A `GET /healthz` on a fresh connection; the status line.
async fn healthz(addr: &str) -> String {
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    let _ = conn.read_to_string(&mut response).await;
    response.lines().next().unwrap_or_default().to_owned()
}

/// Reads until the server closes the connection (EOF or reset); how long that took.
async fn time_until_closed(conn: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let began = Instant::now();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(limit, async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return began.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
}

/// Attack: slowloris — a client that sends its headers one byte at a time and never
/// finishes. It is cut off at the header-read timeout (500 ms here), and a slowloris
/// connection open at stop does not lengthen the shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_is_closed_at_the_header_timeout_and_does_not_delay_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.header_read_timeout = Duration::from_millis(500);
    let (running, base) = common::start(config).await;
    let addr = base.trim_start_matches("http://").to_owned();

    let mut slow = TcpStream::connect(&addr).await.unwrap();
    let began = Instant::now();
    let dribble = async {
        for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
            .iter()
            .cycle()
        {
            if slow.write_all(&[*b]).await.is_err() {
                return began.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            if began.elapsed() > Duration::from_secs(5) {
                return began.elapsed();
            }
        }
        began.elapsed()
    };
    let cut_after = dribble.await;
    let closed = time_until_closed(&mut slow, Duration::from_secs(2)).await;
    eprintln!("slowloris cut off after {cut_after:?} (header timeout 500 ms)");
    assert!(
        cut_after < Duration::from_millis(1500) && closed.is_some(),
        "slowloris still connected after {cut_after:?}"
    );

    assert!(running.stop().await.is_clean());

    // A slowloris connection open at stop, with a 30 s header timeout this time: the stop
    // does not wait for it.
    let mut config = common::config(dir.path());
    config.header_read_timeout = Duration::from_secs(30);
    let (running, base) = common::start(config).await;
    let addr = base.trim_start_matches("http://").to_owned();
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let began = Instant::now();
    let report = running.stop().await;
    let took = began.elapsed();
    eprintln!("stop with a slowloris connection open: {took:?}");
    assert!(report.is_clean(), "{}", report.summary());
    assert!(took < Duration::from_millis(300), "stop took {took:?}");
    drop(slow);
}

/// Attack: 2 000 idle connections (opened, nothing sent). `/healthz` keeps answering
/// quickly on a new connection, and the idle ones are closed at the header-read timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_idle_connections_do_not_stop_healthz() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.header_read_timeout = Duration::from_secs(1);
    let (running, base) = common::start(config).await;
    let addr = base.trim_start_matches("http://").to_owned();
    let mut idle = Vec::with_capacity(2000);
    for _ in 0..2000 {
        idle.push(TcpStream::connect(&addr).await.unwrap());
    }
    let began = Instant::now();
    let status = healthz(&addr).await;
    let took = began.elapsed();
    eprintln!("/healthz with 2000 idle connections open: {took:?}");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert!(took < Duration::from_millis(500), "{took:?}");
    // The idle connections are closed by the server at the header-read timeout.
    let deadline = Instant::now() + Duration::from_secs(3);
    while running.api.server_stats().snapshot().open > 0 {
        assert!(
            Instant::now() < deadline,
            "{:?}",
            running.api.server_stats().snapshot()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let closed = time_until_closed(&mut idle[0], Duration::from_secs(1)).await;
    assert!(closed.is_some(), "idle connection closed by the server");
    drop(idle);
    assert!(running.stop().await.is_clean());
}

/// Attack: more connections than `max_connections` (50 here). Past the cap new connections
/// are closed at accept (the process never runs out of file descriptors); once the idle
/// ones hit the header timeout the server answers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_are_closed_and_service_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.max_connections = 50;
    config.header_read_timeout = Duration::from_millis(400);
    let (running, base) = common::start(config).await;
    let addr = base.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    for _ in 0..50 {
        held.push(TcpStream::connect(&addr).await.unwrap());
    }
    // Wait until the server accepted them all.
    let deadline = Instant::now() + Duration::from_secs(2);
    while running.api.server_stats().snapshot().open < 50 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut extra = TcpStream::connect(&addr).await.unwrap();
    let closed = time_until_closed(&mut extra, Duration::from_millis(300)).await;
    assert!(
        closed.is_some(),
        "a connection past the cap is closed at once"
    );
    assert!(running.api.server_stats().snapshot().refused >= 1);
    // The held connections time out; the server answers again.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(healthz(&addr).await.starts_with("HTTP/1.1 200"));
    drop(held);
    assert!(running.stop().await.is_clean());
}
