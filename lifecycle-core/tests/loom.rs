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

/// A start racing a stop requested before start-up: exactly one carries the stop out, and a
/// stop is never lost (either the start is refused, or the control task gets the command).
#[test]
fn start_and_an_early_stop_hand_over_exactly_once() {
    use lifecycle_core::__loom::{Handover, StopAction};
    loom::model(|| {
        let handover = Arc::new(Handover::new("receiver"));
        let starter = {
            let h = Arc::clone(&handover);
            thread::spawn(move || h.launch())
        };
        let stopper = {
            let h = Arc::clone(&handover);
            thread::spawn(move || h.stop())
        };
        let launched = starter.join().unwrap();
        let action = stopper.join().unwrap();
        match (launched, action) {
            // Started first: the stop goes to the control task.
            (Some("receiver"), StopAction::SendToControl) => {}
            // Stopped first: the start is refused; the stopper published the report.
            (None, StopAction::StoppedBeforeStart) => {}
            other => panic!("lost or doubled hand-over: {other:?}"),
        }
        // Whatever happened, a second launch never runs a second control task.
        assert!(handover.launch().is_none());
    });
}

/// The control task's report and the RAII abort's report race: one wins, everyone sees it.
#[test]
fn the_stop_outcome_is_published_once_and_seen_by_all() {
    use lifecycle_core::__loom::Outcome;
    loom::model(|| {
        let outcome = Arc::new(Outcome::<&'static str>::default());
        let publishers: Vec<_> = ["graceful", "aborted"]
            .into_iter()
            .map(|value| {
                let o = Arc::clone(&outcome);
                thread::spawn(move || o.publish(value))
            })
            .collect();
        let reader = {
            let o = Arc::clone(&outcome);
            thread::spawn(move || o.get())
        };
        let winners: Vec<_> = publishers.into_iter().map(|t| t.join().unwrap()).collect();
        assert!(
            Arc::ptr_eq(&winners[0], &winners[1]),
            "two different outcomes"
        );
        let seen = reader.join().unwrap();
        if let Some(seen) = seen {
            assert!(
                Arc::ptr_eq(&seen, &winners[0]),
                "a reader saw a losing outcome"
            );
        }
        assert!(Arc::ptr_eq(&outcome.get().unwrap(), &winners[0]));
    });
}

/// An administrative restart (Stopped → Starting → Running) racing the abort path's
/// Stopping → Stopped: the cell only ever moves backwards through `restart`, and the outcome
/// is one of the two orders, never a mix.
#[test]
fn a_restart_racing_the_abort_path_ends_in_one_order() {
    loom::model(|| {
        let cell = Arc::new(StateCell::new());
        for to in [
            State::Starting,
            State::Running,
            State::Stopping,
            State::Stopped,
        ] {
            cell.transition(to).unwrap();
        }
        let restarter = {
            let cell = Arc::clone(&cell);
            thread::spawn(move || {
                let restarted = cell.restart().is_ok();
                let running = cell.transition(State::Running).is_ok();
                (restarted, running)
            })
        };
        let aborter = {
            let cell = Arc::clone(&cell);
            thread::spawn(move || {
                let stopping = cell.transition(State::Stopping).is_ok();
                let stopped = cell.transition(State::Stopped).is_ok();
                (stopping, stopped)
            })
        };
        let (restarted, running) = restarter.join().unwrap();
        let (_stopping, stopped) = aborter.join().unwrap();
        assert!(
            restarted,
            "nothing else leaves Stopped, so the restart always wins it"
        );
        // Either the abort path's Stopped came last (from Starting, Running or Stopping), or
        // it found the cell terminal or Running and the restart ran to Running.
        let expected = if stopped {
            State::Stopped
        } else {
            State::Running
        };
        assert_eq!(cell.get(), expected);
        if !stopped {
            assert!(running);
        }
    });
}

/// A hook-less service's stop arms its claim while its last two tasks end and its deadline
/// comes: exactly one of the three claims the stop, so it is reported once and never lost.
/// (Found a lost claim in a first version that kept the flag and the count in two atomics.)
#[test]
fn the_quiet_claim_of_a_stop_is_taken_exactly_once() {
    use lifecycle_core::__loom::QuietClaim;
    loom::model(|| {
        let claim = Arc::new(QuietClaim::new());
        claim.task_began();
        claim.task_began();
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let claim = Arc::clone(&claim);
                thread::spawn(move || claim.task_ended())
            })
            .collect();
        let deadline = {
            let claim = Arc::clone(&claim);
            thread::spawn(move || claim.disarm())
        };
        let armed = claim.arm();
        let by_tasks = tasks
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|&claimed| claimed)
            .count();
        let by_deadline = deadline.join().unwrap();
        assert_eq!(
            usize::from(armed) + by_tasks + usize::from(by_deadline),
            1,
            "armed: {armed}, tasks: {by_tasks}, deadline: {by_deadline}"
        );
    });
}
