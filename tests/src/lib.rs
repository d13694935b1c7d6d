//! Integration tests live in `tests/`. This library only checks that expansions in a public
//! API are free of warnings under strict lints: `missing_docs`, `unreachable_pub`,
//! `clippy::pedantic` and `clippy::nursery` (run by `cargo clippy -p lifecycle-tests`).
#![deny(warnings, missing_docs, unreachable_pub, missing_debug_implementations)]
#![deny(clippy::pedantic, clippy::nursery)]

pub mod api {
    //! A public registry, as a library would export it.

    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use lifecycle_core::{Health, Registry, Service, Shutdown};

    /// Configuration.
    #[derive(Debug, Default)]
    pub struct Settings {
        /// Poll period in seconds.
        pub period: u64,
    }

    /// A store.
    pub trait Store: Send + Sync {
        /// Reads.
        fn read(&self) -> u64;
    }

    /// A database.
    #[derive(Debug, Default, Service)]
    #[service(tasks)]
    pub struct Database {
        reads: AtomicU64,
    }

    #[lifecycle_core::tasks]
    impl Database {
        #[on_start]
        async fn open(&self) -> std::io::Result<()> {
            self.reads.store(0, Ordering::SeqCst);
            Ok(())
        }

        #[health]
        fn check(&self) -> Health {
            if self.reads.load(Ordering::SeqCst) < u64::MAX {
                Health::Healthy
            } else {
                Health::degraded("saturated")
            }
        }
    }

    impl Store for Database {
        fn read(&self) -> u64 {
            self.reads.fetch_add(1, Ordering::SeqCst)
        }
    }

    /// A poller.
    #[derive(Service)]
    #[service(stop_timeout = "1s", tasks)]
    pub struct Poller<T: Default + Send + Sync + 'static> {
        #[depends_on]
        store: Arc<dyn Store>,
        #[depends_on]
        settings: Arc<Settings>,
        #[service(default = AtomicU64::new(1))]
        polls: AtomicU64,
        extra: T,
    }

    impl<T: Default + Send + Sync + 'static> std::fmt::Debug for Poller<T> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Poller")
                .field("polls", &self.polls)
                .finish_non_exhaustive()
        }
    }

    impl<T: Default + Send + Sync + 'static> Poller<T> {
        /// How often it polled.
        pub fn polls(&self) -> u64 {
            self.polls.load(Ordering::SeqCst)
        }

        /// The extra value.
        pub const fn extra(&self) -> &T {
            &self.extra
        }
    }

    #[lifecycle_core::tasks]
    impl<T: Default + Send + Sync + 'static> Poller<T> {
        #[background_task(every = "1s", restart = "on_failure", max_restarts = 3, within = "10s")]
        async fn poll(&self, shutdown: Shutdown) -> Result<(), std::io::Error> {
            if shutdown.is_cancelled() {
                return Err(std::io::Error::other("cancelled"));
            }
            let _ = self.store.read() + self.settings.period;
            self.polls.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }

        #[background_task(every = "1m", name = "sweep")]
        async fn sweep(&self) {
            self.polls.fetch_add(1, Ordering::SeqCst);
        }

        #[background_task(blocking)]
        fn watch(&self, shutdown: Shutdown) {
            while !shutdown.is_cancelled() {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
    }

    /// The application.
    #[derive(Debug, Registry)]
    pub struct App {
        #[value]
        settings: Settings,
        #[provide(dyn Store)]
        db: Database,
        poller: Poller<u32>,
    }

    /// Builds the application with default settings.
    ///
    /// # Errors
    ///
    /// A build error of the registry.
    pub fn build() -> Result<lifecycle_core::Built<App>, lifecycle_core::BuildError> {
        App::builder().settings(Settings::default()).build()
    }
}
