//! Every macro, expanded in a module that shadows the prelude and common paths, under
//! `#![deny(warnings)]` (and clippy's pedantic group when linted): expansions must reach the
//! runtime only through absolute paths and add no warnings of their own.
#![deny(warnings)]
#![deny(clippy::pedantic)]
#![no_implicit_prelude]

extern crate lifecycle_core;
extern crate std;
extern crate tokio;

#[allow(
    dead_code,
    non_camel_case_types,
    non_upper_case_globals,
    clippy::upper_case_acronyms
)]
mod shadowed {
    use ::lifecycle_core::{Health, Registry, Service, Shutdown};

    // Shadows of the prelude and friends: an expansion that names any of these unqualified
    // fails to compile.
    pub struct Result;
    pub struct Option;
    pub struct Box;
    pub struct Arc;
    pub struct Vec;
    pub struct String;
    pub struct Default;
    pub struct Future;
    pub trait Send {}
    pub trait Sync {}
    pub trait Clone {}
    pub trait Sized {}
    pub const Ok: () = ();
    pub const Err: () = ();
    pub const Some: () = ();
    pub const None: () = ();
    pub mod core {}
    pub mod std {}
    pub mod lifecycle_core {}
    pub mod tokio {}
    #[allow(unused_macros)]
    macro_rules! vec {
        ($($t:tt)*) => {
            compile_error!("the shadowed `vec!` was used")
        };
    }
    #[allow(unused_macros)]
    macro_rules! format {
        ($($t:tt)*) => {
            compile_error!("the shadowed `format!` was used")
        };
    }

    pub trait Store: ::core::marker::Send + ::core::marker::Sync {
        fn get(&self) -> u32;
    }

    pub struct Settings {
        pub limit: u32,
    }

    #[derive(Service)]
    #[service(
        name = "db",
        stop_timeout = "1s",
        start_timeout = "2s",
        hook_timeout = "3s",
        restart = "on_failure",
        max_restarts = 2,
        within = "1m",
        backoff = "1s",
        max_backoff = "2s",
        ready_in_backoff = true,
        tasks
    )]
    pub struct Db {
        pub hits: ::std::sync::atomic::AtomicU32,
    }

    #[::lifecycle_core::tasks]
    impl Db {
        #[on_start]
        async fn open(&self) -> ::core::result::Result<(), ::std::io::Error> {
            ::core::result::Result::Ok(())
        }

        #[on_stop]
        fn close(&self) {}

        #[on_reload]
        async fn reread(&self) -> ::core::result::Result<(), ::std::io::Error> {
            self.hits
                .fetch_add(1, ::std::sync::atomic::Ordering::SeqCst);
            ::core::result::Result::Ok(())
        }

        #[background_task(on_exit = "continue", restart = "on_failure")]
        async fn once(&self, shutdown: Shutdown) {
            let _ = shutdown.is_cancelled();
        }

        #[health]
        fn check(&self) -> bool {
            true
        }
    }

    impl Store for Db {
        fn get(&self) -> u32 {
            self.hits.load(::std::sync::atomic::Ordering::SeqCst)
        }
    }

    #[derive(Service)]
    #[service(escalation = "stop_dependents", tasks)]
    pub struct Worker<T>
    where
        T: ::core::default::Default + ::core::marker::Send + ::core::marker::Sync + 'static,
    {
        #[depends_on]
        pub db: ::std::sync::Arc<Db>,
        #[depends_on]
        pub store: ::std::sync::Arc<dyn Store>,
        #[depends_on]
        pub settings: ::std::sync::Arc<Settings>,
        #[service(default = ::std::sync::atomic::AtomicU32::new(7))]
        pub runs: ::std::sync::atomic::AtomicU32,
        pub extra: T,
    }

    #[::lifecycle_core::tasks]
    impl<T> Worker<T>
    where
        T: ::core::default::Default + ::core::marker::Send + ::core::marker::Sync + 'static,
    {
        #[health]
        async fn ready(&self) -> Health {
            Health::Healthy
        }

        #[background_task(
            every = "1s",
            initial_delay = "1s",
            backoff = "1s",
            max_backoff = "2s",
            jitter = 0.0
        )]
        async fn periodic(
            &self,
            shutdown: Shutdown,
        ) -> ::core::result::Result<(), ::std::io::Error> {
            let _ = (
                &self.extra,
                shutdown.is_cancelled(),
                self.store.get(),
                self.settings.limit,
            );
            self.runs
                .fetch_add(1, ::std::sync::atomic::Ordering::SeqCst);
            ::core::result::Result::Ok(())
        }

        #[background_task(restart = "always", max_restarts = 3, within = "1m", name = "loop")]
        async fn long_running(&self, shutdown: Shutdown) {
            shutdown.cancelled().await;
        }

        #[background_task(every = "1h")]
        async fn dropped(&self) {}

        #[background_task(blocking, restart = "never")]
        fn blocking(&self, shutdown: Shutdown) {
            let _ = (shutdown.is_cancelled(), &self.db);
        }

        #[background_task(blocking)]
        fn blocking_without_handle(&self) {}

        pub fn untouched(&self) -> u32 {
            self.runs.load(::std::sync::atomic::Ordering::SeqCst)
        }
    }

    #[derive(Registry)]
    pub struct App {
        #[value]
        pub settings: Settings,
        #[provide(dyn Store)]
        pub db: Db,
        #[instance]
        pub worker: Worker<u8>,
    }
}

#[::tokio::test(start_paused = true)]
async fn expansions_do_not_depend_on_the_caller_s_names() {
    use ::core::option::Option::Some;
    use shadowed::{App, Db, Worker};

    let db = ::std::sync::Arc::new(Db {
        hits: ::std::sync::atomic::AtomicU32::new(0),
    });
    let worker = Worker::<u8> {
        db: ::core::clone::Clone::clone(&db),
        store: db,
        settings: ::std::sync::Arc::new(shadowed::Settings { limit: 1 }),
        runs: ::std::sync::atomic::AtomicU32::new(0),
        extra: 0,
    };
    let running = App::builder()
        .settings(shadowed::Settings { limit: 3 })
        .worker(worker)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    ::tokio::time::sleep(::core::time::Duration::from_millis(2500)).await;
    ::std::assert_eq!(running.worker.untouched(), 2);
    ::std::assert!(running.health().await.ready);
    let reload = running.handle().reload().await.unwrap();
    ::std::assert!(reload.is_clean());
    ::std::assert_eq!(shadowed::Store::get(&*running.db), 1, "`on_reload` ran");
    let report = running.stop().await;
    ::std::assert_eq!(report.stop_order(), ["Worker<u8>", "db"]);
    ::std::assert!(::core::matches!(report.service("db"), Some(_)));
}
