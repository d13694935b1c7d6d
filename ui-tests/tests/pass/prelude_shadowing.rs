//! Every macro in a module that shadows prelude names, under `#![deny(warnings)]`.
#![deny(warnings)]

mod shadow {
    // The shadowing items themselves are unused; the expansions below must still compile
    // without a single warning.
    #[allow(dead_code)]
    pub struct Result;
    #[allow(dead_code)]
    pub struct Option;
    #[allow(dead_code)]
    pub struct Box;
    #[allow(dead_code)]
    pub struct Arc;
    #[allow(dead_code)]
    pub struct Vec;
    #[allow(dead_code)]
    pub struct String;
    #[allow(dead_code)]
    pub trait Send {}
    #[allow(dead_code)]
    pub trait Sync {}
    #[allow(dead_code)]
    pub trait Default {}
    #[allow(dead_code)]
    pub trait Into {}
    #[allow(dead_code)]
    pub trait Clone {}
    #[allow(dead_code)]
    pub trait From {}
    #[allow(dead_code)]
    pub trait Future {}
    #[allow(dead_code)]
    pub trait Fn {}
    #[allow(dead_code, non_upper_case_globals)]
    pub const Ok: () = ();
    #[allow(dead_code, non_upper_case_globals)]
    pub const Err: () = ();
    #[allow(dead_code, non_upper_case_globals)]
    pub const Some: () = ();
    #[allow(dead_code, non_upper_case_globals)]
    pub const None: () = ();
    #[allow(dead_code)]
    pub mod core {}
    #[allow(dead_code)]
    pub mod std {}

    use lifecycle_core::{Registry, Service, Shutdown};

    #[derive(Service)]
    pub struct Database {}

    pub trait Cache: ::core::marker::Send + ::core::marker::Sync {}

    impl Cache for Database {}

    #[derive(Service)]
    #[service(tasks, stop_timeout = "5s")]
    pub struct Worker {
        #[depends_on]
        db: ::std::sync::Arc<Database>,
        #[depends_on]
        cache: ::std::sync::Arc<dyn Cache>,
        #[service(default = 1)]
        retries: u32,
    }

    #[lifecycle_core::tasks]
    impl Worker {
        #[on_start]
        async fn connect(&self) -> ::core::result::Result<(), ::std::io::Error> {
            let _ = (&self.db, &self.cache, self.retries);
            ::core::result::Result::Ok(())
        }

        #[on_stop]
        async fn flush(&self) {}

        #[health]
        fn check(&self) -> bool {
            true
        }

        #[background_task(every = "1s", restart = "on_failure", max_restarts = 3)]
        async fn poll(&self, _shutdown: Shutdown) -> ::core::result::Result<(), &'static str> {
            ::core::result::Result::Ok(())
        }

        #[background_task(blocking)]
        fn crunch(&self) {}
    }

    #[derive(Registry)]
    pub struct App {
        #[provide(dyn Cache)]
        pub db: Database,
        pub worker: Worker,
    }
}

fn main() {
    let _ = shadow::App::builder().build();
}
