//! systemd notifications over a real unix datagram socket.
//!
//! `NOTIFY_SOCKET` is process-global (and setting it needs `unsafe` in edition 2024), so this
//! test binary has no harness: run plainly, it binds a socket and re-runs itself as a child
//! process with `NOTIFY_SOCKET` and `WATCHDOG_USEC` set; the child drives a registry on
//! virtual time; the parent reads every datagram the child sent and checks the sequence.

use std::os::unix::net::UnixDatagram;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lifecycle_core::{
    BoxError, DynRegistry, Escalation, Service, ServiceOptions, TaskSpawner, TaskSpec,
};

const CHILD: &str = "LIFECYCLE_SYSTEMD_TEST_CHILD";
/// systemd's `WatchdogSec=200ms`: the notifier pings every 100 ms.
const WATCHDOG_USEC: u64 = 200_000;

/// Starts in 1 s.
struct Db;

impl Service for Db {
    const NAME: &'static str = "Db";
    async fn on_start(&self) -> Result<(), BoxError> {
        tokio::time::sleep(Duration::from_secs(1)).await;
        Ok(())
    }
}

/// Its task fails 3 s after start, without restart: the service ends Failed and the rest
/// keeps running (escalation StopDependents), so only liveness says something is wrong.
struct Fragile;

impl Service for Fragile {
    const NAME: &'static str = "Fragile";
    const HAS_START_HOOK: bool = false;
    const HAS_STOP_HOOK: bool = false;
    const OPTIONS: ServiceOptions = ServiceOptions::DEFAULT.escalation(Escalation::StopDependents);
    fn dependencies() -> Vec<lifecycle_core::Dependency> {
        vec![lifecycle_core::Dependency::of::<Db>()]
    }
    fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>) {
        tasks.spawn(TaskSpec::new("crash"), |_| async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            Err::<(), _>(std::io::Error::other("boom"))
        });
    }
}

/// Start-up 1 s (pinging), all running until 4 s, Fragile Failed at 4 s (pings stop), a
/// reload at 5 s, stop requested at 6 s (1 s drain, then the ordered stop).
fn child() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    runtime.block_on(async {
        // A 1 s drain: STOPPING=1 must come at the request, while Db still runs.
        let mut registry = DynRegistry::with_options(
            lifecycle_core::RegistryOptions::default().drain_delay(Duration::from_secs(1)),
        );
        registry.add(Arc::new(Db));
        registry.add(Arc::new(Fragile));
        let built = registry.build().expect("build");
        let notifier = lifecycle_core::ops::systemd::spawn_notifier(built.handle());
        let began = tokio::time::Instant::now();
        let running = built.start().await.expect("start");
        tokio::time::sleep_until(began + Duration::from_secs(5)).await;
        assert_eq!(
            running.handle().state(1),
            Some(lifecycle_core::State::Failed)
        );
        let reloaded: Result<u32, std::io::Error> =
            lifecycle_core::ops::systemd::reload(async { Ok(7) }).await;
        assert_eq!(reloaded.expect("reload"), 7);
        tokio::time::sleep_until(began + Duration::from_secs(6)).await;
        running.stop().await;
        tokio::time::timeout(Duration::from_secs(1), notifier)
            .await
            .expect("the notifier ends once the registry stopped")
            .expect("no panic");
    });
}

fn parent() -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("lifecycle-sd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&path).map_err(|e| e.to_string())?;

    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .env(CHILD, "1")
        .env("NOTIFY_SOCKET", &path)
        .env("WATCHDOG_USEC", WATCHDOG_USEC.to_string())
        .env_remove("WATCHDOG_PID")
        .spawn()
        .map_err(|e| e.to_string())?;
    // Read while the child runs: the kernel queues only a few datagrams per socket
    // (net.unix.max_dgram_qlen) and a full queue blocks the sender.
    socket
        .set_read_timeout(Some(Duration::from_millis(20)))
        .map_err(|e| e.to_string())?;
    let mut messages = Vec::new();
    let mut buf = vec![0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut exited = None;
    loop {
        match socket.recv(&mut buf) {
            Ok(n) => messages.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                // Nothing queued: done once the child has exited.
                if exited.is_some() {
                    break;
                }
            }
            Err(e) => return Err(e.to_string()),
        }
        if exited.is_none() {
            exited = child.try_wait().map_err(|e| e.to_string())?;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err("child did not finish in 60 s".into());
        }
    }
    let status = exited.ok_or("no exit status")?;
    if !status.success() {
        return Err(format!("child failed: {status}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
    check(&messages).map_err(|e| format!("{e}\nmessages: {messages:#?}"))
}

fn check(messages: &[String]) -> Result<(), String> {
    let position = |what: &dyn Fn(&str) -> bool| messages.iter().position(|m| what(m));
    let ready = position(&|m| m == "READY=1\n").ok_or("no READY=1")?;
    let failed = position(&|m| m.starts_with("STATUS=failed: Fragile"))
        .ok_or("no STATUS naming the failed service")?;
    let reloading = position(&|m| m.starts_with("RELOADING=1\nMONOTONIC_USEC="))
        .ok_or("no RELOADING=1 with MONOTONIC_USEC")?;
    let stopping = position(&|m| m == "STOPPING=1\n").ok_or("no STOPPING=1")?;
    let pings = |range: std::ops::Range<usize>| {
        messages[range]
            .iter()
            .filter(|m| *m == "WATCHDOG=1\n")
            .count()
    };

    if !messages[0].starts_with("STATUS=starting: 0/2 running") {
        return Err(format!("first message {:?}", messages[0]));
    }
    if !(ready < failed && failed < reloading && reloading < stopping) {
        return Err(format!(
            "order: ready {ready}, failed {failed}, reloading {reloading}, stopping {stopping}"
        ));
    }
    // STOPPING=1 at the request, while Db still runs (draining), then the final status.
    if messages.get(stopping + 1).map(String::as_str)
        != Some("STATUS=failed: Fragile; stopping: 1/2 stopped\n")
    {
        return Err("STOPPING=1 not sent at the start of the drain".into());
    }
    if messages.get(ready + 1).map(String::as_str) != Some("STATUS=2/2 services running\n") {
        return Err("READY=1 not followed by the running status".into());
    }
    if messages[reloading + 1] != "READY=1\n" {
        return Err("RELOADING=1 not followed by READY=1".into());
    }
    if messages.iter().filter(|m| *m == "READY=1\n").count() != 2 {
        return Err("READY=1 once for start-up, once for the reload".into());
    }
    // Every 100 ms of virtual time while live: ~10 during the 1 s start-up, ~30 while all
    // ran (1 s to 4 s); none once Fragile failed.
    let (during_start, while_running, after_failure) = (
        pings(0..ready),
        pings(ready..failed),
        pings(failed..messages.len()),
    );
    if !(9..=11).contains(&during_start) {
        return Err(format!(
            "{during_start} pings during start-up, expected ~10"
        ));
    }
    if !(29..=31).contains(&while_running) {
        return Err(format!("{while_running} pings while running, expected ~30"));
    }
    if after_failure != 0 {
        return Err(format!("{after_failure} pings after a service failed"));
    }
    if !messages
        .last()
        .is_some_and(|m| m.starts_with("STATUS=failed: Fragile; stopping: 2/2 stopped"))
    {
        return Err("last message is not the final status".into());
    }
    Ok(())
}

fn main() -> ExitCode {
    if std::env::var_os(CHILD).is_some() {
        child();
        return ExitCode::SUCCESS;
    }
    print!("test notifies_systemd_over_a_real_socket ... ");
    match parent() {
        Ok(()) => {
            println!("ok");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("FAILED\n{e}");
            ExitCode::FAILURE
        }
    }
}
