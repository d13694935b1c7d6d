//! `#[derive(Registry)]` and `#[derive(Service)]` wiring: values, instances, trait-object keys
//! and fakes, generic services, hand-written services beside derived ones, health, options,
//! build errors.
#![warn(clippy::pedantic)]

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lifecycle_core::testing::{Recorder, assert_no_tasks_alive};
use lifecycle_core::{
    BoxError, BuildError, Dependency, Escalation, FromRegistry, Health, Phase, Provide, Registry,
    RegistryOptions, Resolver, Service, Shutdown, State,
};
use tokio::time::Instant;

// ---------------------------------------------------------------- shared pieces

#[derive(Debug, Clone, PartialEq, Eq)]
struct Config {
    greeting: String,
}

#[derive(Service)]
#[service(tasks)]
struct Database {
    url: String,
    open: AtomicBool,
}

impl Database {
    fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            open: AtomicBool::new(false),
        }
    }
}

#[lifecycle_core::tasks]
impl Database {
    #[on_start]
    async fn connect(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    #[on_stop]
    fn disconnect(&self) {
        self.open.store(false, Ordering::SeqCst);
    }

    #[health]
    fn is_open(&self) -> bool {
        self.open.load(Ordering::SeqCst)
    }
}

/// A trait-object dependency: production and test registries bind different types to it.
trait Mailer: Send + Sync {
    fn send(&self, to: &str, body: &str);
}

#[derive(Service, Default)]
struct SmtpMailer {}

impl Mailer for SmtpMailer {
    fn send(&self, _to: &str, _body: &str) {}
}

#[derive(Service, Default)]
struct FakeMailer {
    sent: Mutex<Vec<(String, String)>>,
}

impl Mailer for FakeMailer {
    fn send(&self, to: &str, body: &str) {
        self.sent
            .lock()
            .unwrap()
            .push((to.to_owned(), body.to_owned()));
    }
}

#[derive(Service)]
#[service(tasks)]
struct Notifier {
    #[depends_on]
    mailer: Arc<dyn Mailer>,
    #[depends_on]
    config: Arc<Config>,
    #[depends_on]
    db: Arc<Database>,
    #[service(default = String::from("ops@example.com"))]
    recipient: String,
}

#[lifecycle_core::tasks]
impl Notifier {
    #[background_task(every = "1m", name = "digest")]
    async fn send_digest(&self, _shutdown: Shutdown) -> Result<(), BoxError> {
        if !self.db.open.load(Ordering::SeqCst) {
            return Err("database closed".into());
        }
        self.mailer.send(&self.recipient, &self.config.greeting);
        Ok(())
    }
}

// ---------------------------------------------------------------- dyn Trait fake

#[derive(Registry)]
struct Production {
    #[value]
    config: Config,
    db: Database,
    #[provide(dyn Mailer)]
    mailer: SmtpMailer,
    notifier: Notifier,
}

#[derive(Registry)]
struct WithFakeMailer {
    #[value]
    config: Config,
    db: Database,
    #[provide(dyn Mailer)]
    mailer: FakeMailer,
    notifier: Notifier,
}

fn config() -> Config {
    Config {
        greeting: "hello".into(),
    }
}

#[tokio::test(start_paused = true)]
async fn a_trait_object_dependency_is_replaced_by_a_fake() {
    let running = WithFakeMailer::builder()
        .config(config())
        .db(Database::new("mem://"))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(150)).await;
    let fake = Arc::clone(&running.mailer);
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
    let expected = ("ops@example.com".to_owned(), "hello".to_owned());
    assert_eq!(
        *fake.sent.lock().unwrap(),
        [expected.clone(), expected.clone(), expected]
    );
    assert_eq!(report.stop_order(), ["Notifier", "FakeMailer", "Database"]);
    assert_no_tasks_alive().await;
}

#[tokio::test(start_paused = true)]
async fn services_are_typed_fields_of_the_running_registry() {
    let built = Production::builder()
        .config(config())
        .db(Database::new("postgres://db"))
        .build()
        .unwrap();
    assert_eq!(built.services().config.greeting, "hello");
    assert!(format!("{:?}", built.services()).starts_with("ProductionServices { config: \""));
    let builder = Production::builder().db(Database::new("x"));
    assert_eq!(
        format!("{builder:?}"),
        "ProductionBuilder { config: false, db: true, mailer: false, notifier: false, .. }"
    );
    assert_eq!(built.len(), 3, "values have no lifecycle");
    let running = built.start().await.unwrap();
    let db: &Arc<Database> = &running.db;
    assert_eq!(db.url, "postgres://db");
    // The notifier got the very instances the registry holds.
    assert!(Arc::ptr_eq(&running.notifier.db, db));
    assert!(Arc::ptr_eq(&running.notifier.config, &running.config));
    let smtp: Arc<dyn Mailer> = running.mailer.clone();
    assert!(std::ptr::addr_eq(
        Arc::as_ptr(&running.notifier.mailer),
        Arc::as_ptr(&smtp)
    ));
    running.stop().await;
}

// ---------------------------------------------------------------- build errors

#[tokio::test]
async fn a_missing_value_is_a_build_error_naming_the_field() {
    let Err(error) = Production::builder().db(Database::new("x")).build() else {
        panic!("built without a config");
    };
    assert_eq!(
        error,
        BuildError::MissingInstance {
            registry: "Production",
            field: "config"
        }
    );
    assert!(error.to_string().contains(".config("), "{error}");
}

#[derive(Service)]
struct Chicken {
    #[depends_on]
    egg: Arc<Egg>,
}

#[derive(Service)]
struct Egg {
    #[depends_on]
    chicken: Arc<Chicken>,
}

#[derive(Registry)]
struct Farm {
    chicken: Chicken,
    egg: Egg,
}

#[tokio::test]
async fn a_cycle_is_reported_by_build_with_its_path() {
    let Err(error) = Farm::builder().build() else {
        panic!("a cycle was built");
    };
    let _ = |chicken: &Chicken, egg: &Egg| (Arc::clone(&chicken.egg), Arc::clone(&egg.chicken));
    assert_eq!(
        error,
        BuildError::Cycle {
            path: vec!["chicken".into(), "egg".into(), "chicken".into()]
        }
    );
}

#[tokio::test]
async fn supplied_instances_are_used_as_given() {
    // Given to the builder, a service is used as given instead of built.
    let built = Production::builder()
        .config(config())
        .db(Database::new("a"))
        .mailer(SmtpMailer {})
        .build()
        .unwrap();
    assert_eq!(built.len(), 3);
    // A registry value with every instance converts into a builder.
    let all_given = Monitored {
        db: Database::new("b"),
        toggle: Toggle::default(),
        tired: Tired {},
        silent: Silent {},
    };
    let built = MonitoredBuilder::from(all_given).build().unwrap();
    assert_eq!(built.services().db.url, "b");
}

// ---------------------------------------------------------------- hand-written + derived

/// Implements `Service` and `FromRegistry` by hand.
struct Legacy {
    db: Arc<Database>,
    started: AtomicBool,
}

impl Service for Legacy {
    const NAME: &'static str = "Legacy";
    const HAS_STOP_HOOK: bool = false;
    const HAS_HEALTH_CHECK: bool = false;

    fn dependencies() -> Vec<Dependency> {
        vec![Dependency::of::<Database>()]
    }

    async fn on_start(&self) -> Result<(), BoxError> {
        assert!(
            self.db.open.load(Ordering::SeqCst),
            "started after its dependency"
        );
        self.started.store(true, Ordering::SeqCst);
        Ok(())
    }
}

impl<R: Provide<Database>> FromRegistry<R> for Legacy {
    fn from_registry(cx: &mut Resolver<R>) -> Result<Self, BuildError> {
        Ok(Self {
            db: cx.get()?,
            started: AtomicBool::new(false),
        })
    }
}

/// Hand-written `Service`, no `FromRegistry`: an `#[instance]` given to the builder.
struct Vendor {
    name: &'static str,
}

impl Service for Vendor {
    const NAME: &'static str = "Vendor";
}

/// A derived service depending on a hand-written one.
#[derive(Service)]
struct Report {
    #[depends_on]
    legacy: Arc<Legacy>,
    #[depends_on]
    vendor: Arc<Vendor>,
}

#[derive(Registry)]
struct Mixed {
    report: Report,
    legacy: Legacy,
    db: Database,
    #[instance]
    vendor: Vendor,
}

#[tokio::test(start_paused = true)]
async fn derived_and_hand_written_services_mix() {
    let recorder = Recorder::new();
    let running = Mixed::builder()
        .db(Database::new("mixed"))
        .vendor(Vendor { name: "acme" })
        .options(recorder.attach(RegistryOptions::default()))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    assert!(running.legacy.started.load(Ordering::SeqCst));
    assert_eq!(running.report.vendor.name, "acme");
    assert!(Arc::ptr_eq(&running.report.legacy, &running.legacy));
    assert_eq!(
        recorder.order_of(State::Running),
        ["Database", "Vendor", "Legacy", "Report"]
    );
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
    assert_eq!(report.stop_order().first(), Some(&"Report"));
    assert_eq!(report.stop_order().last(), Some(&"Database"));
}

#[tokio::test]
async fn an_instance_must_be_given() {
    let Err(error) = Mixed::builder().build() else {
        panic!("built without the vendor");
    };
    assert_eq!(
        error,
        BuildError::MissingInstance {
            registry: "Mixed",
            field: "vendor"
        }
    );
}

// ---------------------------------------------------------------- generic service

trait Job: Send + Sync + 'static {
    const LABEL: &'static str;
}

#[derive(Default)]
struct Daily;
impl Job for Daily {
    const LABEL: &'static str = "daily";
}

#[derive(Default)]
struct Hourly;
impl Job for Hourly {
    const LABEL: &'static str = "hourly";
}

#[derive(Service)]
#[service(tasks)]
struct Scheduler<J: Job>
where
    J: Default,
{
    #[depends_on]
    db: Arc<Database>,
    job: J,
    runs: Mutex<Vec<&'static str>>,
}

#[lifecycle_core::tasks]
impl<J: Job> Scheduler<J>
where
    J: Default,
{
    #[on_start]
    async fn check_db(&self) -> Result<(), String> {
        if self.db.open.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(format!("{}: database closed", J::LABEL))
        }
    }

    #[background_task(every = "10s")]
    async fn run(&self) {
        let _ = &self.job;
        self.runs.lock().unwrap().push(J::LABEL);
    }
}

#[derive(Registry)]
struct Jobs {
    db: Database,
    daily: Scheduler<Daily>,
    hourly: Scheduler<Hourly>,
}

#[tokio::test(start_paused = true)]
async fn a_generic_service_is_instantiated_twice() {
    let running = Jobs::builder()
        .db(Database::new("jobs"))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(15)).await;
    assert_eq!(*running.daily.runs.lock().unwrap(), ["daily", "daily"]);
    assert_eq!(*running.hourly.runs.lock().unwrap(), ["hourly", "hourly"]);
    assert_eq!(
        <Scheduler<Daily> as Service>::dependencies(),
        [Dependency::of::<Database>()]
    );
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
    assert_eq!(report.stop_order().last(), Some(&"Database"));
    // Named with their type arguments: the report tells the two apart.
    assert!(
        report.service("Scheduler<Daily>").is_some(),
        "{:?}",
        report.stop_order()
    );
    assert!(report.service("Scheduler<Hourly>").is_some());
    assert_no_tasks_alive().await;
}

// ---------------------------------------------------------------- health aggregation

#[derive(Service, Default)]
#[service(tasks)]
struct Toggle {
    down: AtomicBool,
}

#[lifecycle_core::tasks]
impl Toggle {
    #[health]
    async fn probe(&self) -> Result<(), std::io::Error> {
        if self.down.load(Ordering::SeqCst) {
            Err(std::io::Error::other("upstream unreachable"))
        } else {
            Ok(())
        }
    }
}

#[derive(Service, Default)]
#[service(tasks)]
struct Tired {}

#[lifecycle_core::tasks]
impl Tired {
    #[health]
    fn how(&self) -> Health {
        Health::degraded("slow disk")
    }
}

#[derive(Service, Default)]
struct Silent {}

#[derive(Registry)]
struct Monitored {
    db: Database,
    toggle: Toggle,
    tired: Tired,
    silent: Silent,
}

#[tokio::test(start_paused = true)]
async fn health_is_aggregated_across_services() {
    let running = Monitored::builder()
        .db(Database::new("health"))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let health = running.health().await;
    assert!(health.ready && health.live, "{health:?}");
    let by_name = |name: &str| {
        health
            .services
            .iter()
            .find(|s| s.name == name)
            .unwrap()
            .health
            .clone()
    };
    assert_eq!(by_name("Tired"), Health::degraded("slow disk"));
    assert_eq!(by_name("Silent"), Health::Healthy);
    const { assert!(!<Silent as Service>::HAS_HEALTH_CHECK) };
    const { assert!(<Toggle as Service>::HAS_HEALTH_CHECK) };

    running.toggle.down.store(true, Ordering::SeqCst);
    let health = running.health().await;
    assert!(!health.ready && health.live);
    let toggle = health.services.iter().find(|s| s.name == "Toggle").unwrap();
    assert_eq!(toggle.health, Health::unhealthy("upstream unreachable"));

    running.db.open.store(false, Ordering::SeqCst);
    let health = running.health().await;
    let db = health
        .services
        .iter()
        .find(|s| s.name == "Database")
        .unwrap();
    assert!(!db.health.is_healthy());
    running.stop().await;
}

// ---------------------------------------------------------------- options

mod renamed {
    pub use lifecycle_core as lc;
}

#[derive(Service, Default)]
#[service(
    name = "custom-name",
    start_timeout = "1s",
    stop_timeout = "250ms",
    hook_timeout = "1m30s",
    escalation = "stop_dependents",
    crate = crate::renamed::lc,
    tasks
)]
struct Tuned {}

#[crate::renamed::lc::tasks(crate = crate::renamed::lc)]
impl Tuned {
    #[on_start]
    async fn slow(&self) {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

#[derive(Service, Default)]
#[service(start_timeout = "none")]
struct Patient {}

#[derive(Registry)]
#[registry(crate = crate::renamed::lc)]
struct TunedApp {
    tuned: Tuned,
    patient: Patient,
}

#[test]
fn container_options_become_service_options() {
    assert_eq!(Tuned::NAME, "custom-name");
    let options = Tuned::OPTIONS;
    assert_eq!(options.start_timeout, Some(Duration::from_secs(1)));
    assert_eq!(options.stop_timeout, Duration::from_millis(250));
    assert_eq!(options.hook_timeout, Duration::from_secs(90));
    assert_eq!(options.escalation, Escalation::StopDependents);
    assert_eq!(Patient::OPTIONS.start_timeout, None);
    assert_eq!(Patient::NAME, "Patient");
    const { assert!(!Patient::HAS_START_HOOK && !Patient::HAS_STOP_HOOK) };
    const { assert!(Tuned::HAS_START_HOOK && !Tuned::HAS_STOP_HOOK) };
}

#[tokio::test(start_paused = true)]
async fn start_timeout_applies() {
    let origin = Instant::now();
    let Err(error) = TunedApp::builder().build().unwrap().start().await else {
        panic!("start should time out");
    };
    assert_eq!(error.error.service, "custom-name");
    assert_eq!(error.error.phase, Phase::StartTimeout);
    assert_eq!(origin.elapsed(), Duration::from_secs(1));
    assert_no_tasks_alive().await;
}
