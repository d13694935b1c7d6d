//! Option values passed through `macro_rules!` `$t:expr` fragments (which wrap them in
//! invisible groups) behave as the same literals written directly.

use std::time::Duration;

use lifecycle_core::{Escalation, Service, Shutdown};

macro_rules! service {
    ($name:ident, $start:expr, $stop:expr, $escalation:expr, $label:expr) => {
        #[derive(Service)]
        #[service(
            name = $label,
            start_timeout = $start,
            stop_timeout = $stop,
            hook_timeout = $stop,
            escalation = $escalation
        )]
        struct $name {}
    };
}

service!(Forever, "none", "5s", "stop_dependents", "forever");
service!(Bounded, "250ms", "1m", "shutdown_registry", "bounded");

macro_rules! poller {
    ($every:expr, $restart:expr, $max:expr, $within:expr, $backoff:expr, $jitter:expr) => {
        #[derive(Service)]
        #[service(tasks)]
        struct Poller {}

        #[lifecycle_core::tasks]
        impl Poller {
            #[background_task(
                every = $every,
                restart = $restart,
                max_restarts = $max,
                within = $within,
                backoff = $backoff,
                max_backoff = $within,
                jitter = $jitter
            )]
            async fn poll(&self, shutdown: Shutdown) {
                let _ = shutdown.is_cancelled();
            }
        }
    };
}

poller!("30s", "on_failure", 5, "1m", "1s", 0.0);

fn main() {
    assert_eq!(Forever::NAME, "forever");
    assert_eq!(Forever::OPTIONS.start_timeout, None);
    assert_eq!(Forever::OPTIONS.stop_timeout, Duration::from_secs(5));
    assert_eq!(Forever::OPTIONS.escalation, Escalation::StopDependents);
    assert_eq!(Bounded::NAME, "bounded");
    assert_eq!(Bounded::OPTIONS.start_timeout, Some(Duration::from_millis(250)));
    assert_eq!(Bounded::OPTIONS.hook_timeout, Duration::from_secs(60));
    assert_eq!(Bounded::OPTIONS.escalation, Escalation::ShutdownRegistry);
    let _ = Poller {};
}
