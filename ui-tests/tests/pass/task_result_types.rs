//! Task and hook returns: `()`, `anyhow::Result<()>`, `io::Result<()>`, custom errors,
//! `&'static str` errors; a renamed `Shutdown`.

use std::fmt;
use std::io;

use lifecycle_core::Service;
use lifecycle_core::Shutdown as Stop;

#[derive(Debug)]
struct SyncError;

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sync failed")
    }
}

impl std::error::Error for SyncError {}

type SyncResult = Result<(), SyncError>;

#[derive(Service)]
#[service(tasks)]
struct Worker {}

#[lifecycle_core::tasks]
impl Worker {
    #[on_start]
    async fn connect(&self) -> anyhow::Result<()> {
        Ok(())
    }

    #[on_stop]
    async fn flush(&self) -> io::Result<()> {
        Ok(())
    }

    #[background_task(every = "1s")]
    async fn unit(&self) {}

    #[background_task(every = "1s")]
    async fn with_anyhow(&self, _stop: Stop) -> anyhow::Result<()> {
        anyhow::bail!("not yet")
    }

    #[background_task(every = "1s")]
    async fn with_io(&self) -> io::Result<()> {
        Err(io::Error::other("not yet"))
    }

    #[background_task(every = "1s")]
    async fn with_alias(&self) -> SyncResult {
        Err(SyncError)
    }

    #[background_task(every = "1s")]
    async fn with_str(&self) -> Result<(), &'static str> {
        Err("not yet")
    }

    #[background_task(blocking, every = "1s")]
    fn blocking_io(&self, stop: Stop) -> io::Result<()> {
        let _ = stop.is_cancelled();
        Ok(())
    }
}

fn main() {}
