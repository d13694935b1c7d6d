//! loom model of the atomic state core under concurrent start/stop/fail.
//! Run: `RUSTFLAGS="--cfg lifecycle_loom" cargo test -p lifecycle-core --test loom --target-dir target-loom`
#![cfg(lifecycle_loom)]

use std::sync::Arc;

use lifecycle_core::{State, StateCell};
use loom::thread;

#[test]
fn concurrent_start_completion_and_stop_never_go_backwards() {
    loom::model(|| {
        let cell = Arc::new(StateCell::new());
        cell.transition(State::Starting).unwrap();
        let starter = {
            let cell = Arc::clone(&cell);
            thread::spawn(move || cell.transition(State::Running).is_ok())
        };
        let stopper = {
            let cell = Arc::clone(&cell);
            thread::spawn(move || {
                let stopping = cell.transition(State::Stopping).is_ok();
                let stopped = cell.transition(State::Stopped).is_ok();
                (stopping, stopped)
            })
        };
        let ran = starter.join().unwrap();
        let (stopping, stopped) = stopper.join().unwrap();
        // Stop always wins in the end; Running only if it came before Stopping.
        assert!(stopping && stopped);
        assert_eq!(cell.get(), State::Stopped);
        let _ = ran;
    });
}

#[test]
fn racing_terminal_transitions_have_exactly_one_winner() {
    loom::model(|| {
        let cell = Arc::new(StateCell::new());
        cell.transition(State::Starting).unwrap();
        cell.transition(State::Running).unwrap();
        cell.transition(State::Stopping).unwrap();
        let racers: Vec<_> = [State::Stopped, State::Failed]
            .into_iter()
            .map(|to| {
                let cell = Arc::clone(&cell);
                thread::spawn(move || cell.transition(to).is_ok())
            })
            .collect();
        let wins = racers
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|w| *w)
            .count();
        assert_eq!(wins, 1);
        assert!(cell.get().is_terminal());
    });
}

#[test]
fn concurrent_starts_admit_one() {
    loom::model(|| {
        let cell = Arc::new(StateCell::new());
        let racers: Vec<_> = (0..2)
            .map(|_| {
                let cell = Arc::clone(&cell);
                thread::spawn(move || cell.transition(State::Starting).is_ok())
            })
            .collect();
        let wins = racers
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|w| *w)
            .count();
        assert_eq!(wins, 1);
    });
}
