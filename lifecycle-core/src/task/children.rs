//! Named child tasks: a tree under each service.
//!
//! Every service has one [`ChildTree`] (in its engine node). Its roots are created lazily: one
//! per task run that spawns a named child (path `Service/task`) and one for children spawned
//! from a service-level [`Shutdown`] (path `Service`). A named child is a [`ChildNode`]: its own
//! token (a child of its parent's), its own tracker (a child's task ends only once its own
//! children ended), its children, and a slot where a child's propagated failure waits for the
//! parent's task to pick it up. Nodes hold no reference to the engine, so the tree never keeps
//! a registry alive.
//!
//! Cost: nothing is allocated for a service that never spawns a named child (the tree is a
//! `OnceLock`), and a task's supervisor pays one atomic load per poll to learn that.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};

use futures_util::FutureExt;
use futures_util::task::AtomicWaker;
use tokio::task::{AbortHandle, JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::Shutdown;
use super::shutdown::Owner;
use crate::BoxError;
use crate::engine::lock;
use crate::error::Panicked;

/// Failures kept per service between two stops; later ones are logged only (a server whose
/// per-connection children keep failing must not grow without bound).
const MAX_RECORDED_FAILURES: usize = 1024;

/// What a child's failure (error or panic) does, chosen at spawn.
///
/// ```
/// use lifecycle_core::task::ChildPolicy;
/// assert_ne!(ChildPolicy::Propagate, ChildPolicy::Report);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildPolicy {
    /// The parent fails with the child's failure: a parent task's current run fails (its
    /// restart policy applies: restart, or escalate past its limit); a parent child fails in
    /// turn (and applies its own policy); a child of a service-level [`Shutdown`] escalates the
    /// service. A child whose own [`Shutdown`] was already cancelled (its subtree or service is
    /// stopping) never propagates: its failure is only reported.
    Propagate,
    /// The failure is only recorded (and logged); the parent keeps running.
    Report,
}

/// What a child's future may return: `()` or `Result<T, E>` with `E: Into<BoxError>`.
/// The handle resolves to `Ok(T)` (or `Ok(())`).
///
/// ```
/// use lifecycle_core::task::ChildOutcome;
/// assert_eq!(Ok::<u32, std::io::Error>(7).into_child_result().unwrap(), 7);
/// assert!(().into_child_result().is_ok());
/// ```
#[diagnostic::on_unimplemented(
    message = "a child task must return `()` or `Result<T, E>` where `E: Into<BoxError>`, not `{Self}`",
    label = "this return type is not a child outcome"
)]
pub trait ChildOutcome {
    /// The value the child's handle resolves to.
    type Value: Send + 'static;
    /// The conversion.
    fn into_child_result(self) -> Result<Self::Value, BoxError>;
}

impl ChildOutcome for () {
    type Value = ();
    fn into_child_result(self) -> Result<(), BoxError> {
        Ok(())
    }
}

#[diagnostic::do_not_recommend]
impl<T: Send + 'static, E: Into<BoxError>> ChildOutcome for Result<T, E> {
    type Value = T;
    fn into_child_result(self) -> Result<T, BoxError> {
        self.map_err(Into::into)
    }
}

/// A failure in a service's child tree: where (`Service/task/child/grandchild`) and the
/// original error value, shared (cheap to clone: the same failure is in the stop report, in
/// the child's handle and in the failed run of the parent it propagated to).
///
/// `source()` is the user's error itself (or [`Panicked`]), so it downcasts:
///
/// ```
/// use lifecycle_core::task::ChildFailure;
/// use lifecycle_core::Panicked;
///
/// fn explain(failure: &ChildFailure) -> String {
///     if let Some(p) = failure.downcast_ref::<Panicked>() {
///         format!("{} panicked: {}", failure.path(), p.0)
///     } else if let Some(io) = failure.downcast_ref::<std::io::Error>() {
///         format!("{} failed with I/O error {:?}", failure.path(), io.kind())
///     } else {
///         format!("{} failed: {}", failure.path(), failure.error())
///     }
/// }
/// ```
#[derive(Clone)]
pub struct ChildFailure {
    path: Arc<str>,
    error: Arc<dyn StdError + Send + Sync>,
}

impl ChildFailure {
    /// Where the failure happened: `Service/task/child/grandchild` (`Service/child` for a
    /// child of a service-level [`Shutdown`]).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The original error (the user's value, or [`Panicked`]).
    pub fn error(&self) -> &(dyn StdError + Send + Sync + 'static) {
        &*self.error
    }

    /// The original error as `E`, if it is one.
    pub fn downcast_ref<E: StdError + 'static>(&self) -> Option<&E> {
        self.error.downcast_ref::<E>()
    }

    /// Whether the child panicked.
    pub fn is_panic(&self) -> bool {
        self.error.is::<Panicked>()
    }
}

impl std::fmt::Debug for ChildFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildFailure")
            .field("path", &self.path)
            .field("error", &self.error)
            .finish()
    }
}

impl std::fmt::Display for ChildFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "child `{}` failed", self.path)
    }
}

// Written by hand rather than with `#[source]` on the `Arc`: `Arc<E>`'s own `Error` impl
// would be the source, and it forwards `source()` past `E`, so `E` could not be downcast.
impl StdError for ChildFailure {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.error)
    }
}

/// Why awaiting a [`ChildHandle`] returned no value.
///
/// ```
/// use lifecycle_core::task::ChildError;
///
/// fn log(e: &ChildError) {
///     match e {
///         ChildError::Failed(failure) => eprintln!("{failure}: {}", failure.error()),
///         ChildError::Aborted { path } => eprintln!("{path} was aborted"),
///         _ => eprintln!("{e}"),
///     }
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChildError {
    /// The child returned an error or panicked, or (with [`ChildPolicy::Propagate`] below it)
    /// one of its own children did: the failure names the node where it began.
    #[error(transparent)]
    Failed(#[from] ChildFailure),
    /// The child (or an ancestor, or its service's stop) aborted it before it finished.
    #[error("child `{path}` was aborted")]
    Aborted {
        /// The aborted child's path.
        path: Arc<str>,
    },
}

impl ChildError {
    /// The failure, unless the child was aborted.
    pub fn failure(&self) -> Option<&ChildFailure> {
        match self {
            ChildError::Failed(f) => Some(f),
            ChildError::Aborted { .. } => None,
        }
    }
}

/// Where a node sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Parent of the children spawned from a service-level `Shutdown`.
    ServiceRoot,
    /// Parent of the children spawned during the runs of task `u32` (until a run fails).
    TaskRoot(u32),
    /// A named child, at this slot of its parent's children.
    Child { policy: ChildPolicy, slot: usize },
}

/// Children of one node: a slab, so a child leaves in O(1) however many siblings it has.
#[derive(Default)]
struct Kids {
    slots: Vec<Option<Arc<ChildNode>>>,
    free: Vec<usize>,
}

impl Kids {
    fn vacant(&self) -> usize {
        self.free.last().copied().unwrap_or(self.slots.len())
    }

    fn insert(&mut self, node: Arc<ChildNode>) {
        match self.free.pop() {
            Some(slot) => self.slots[slot] = Some(node),
            None => self.slots.push(Some(node)),
        }
    }

    fn remove(&mut self, slot: usize) {
        if let Some(entry) = self.slots.get_mut(slot)
            && entry.take().is_some()
        {
            self.free.push(slot);
        }
    }

    fn live(&self) -> impl Iterator<Item = &Arc<ChildNode>> {
        self.slots.iter().flatten()
    }
}

/// One node of the tree (a root, or a named child).
pub(crate) struct ChildNode {
    /// A named child's service (roots have none: the tree never holds its engine).
    owner: Option<Owner>,
    path: Arc<str>,
    role: Role,
    parent: Option<Arc<ChildNode>>,
    pub(crate) token: CancellationToken,
    /// The node's named children: a named child's task ends after them.
    tracker: TaskTracker,
    kids: Mutex<Kids>,
    /// Unnamed children (tracked by the service only: one token each, as `Shutdown::spawn`).
    unnamed: Mutex<Option<JoinSet<()>>>,
    /// Unnamed children the node's task took out of `unnamed` and is awaiting (its task owns
    /// them now: aborting it drops them, which aborts them).
    draining: AtomicUsize,
    /// Set once the subtree is being aborted, or the node's task has ended: children spawned
    /// later are aborted at once. Set holding both `kids` and `unnamed`; read under either.
    closed: AtomicBool,
    /// A root whose task run failed: it gets no new children.
    retired: AtomicBool,
    /// A propagated failure of a child, waiting for this node's task to pick it up.
    propagated: Mutex<Option<ChildFailure>>,
    has_propagated: AtomicBool,
    waker: AtomicWaker,
    abort: OnceLock<AbortHandle>,
}

impl ChildNode {
    fn new(
        owner: Option<Owner>,
        path: Arc<str>,
        role: Role,
        parent: Option<Arc<ChildNode>>,
        token: CancellationToken,
    ) -> Self {
        Self {
            owner,
            path,
            role,
            parent,
            token,
            tracker: TaskTracker::new(),
            kids: Mutex::new(Kids::default()),
            unnamed: Mutex::new(None),
            draining: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            retired: AtomicBool::new(false),
            propagated: Mutex::new(None),
            has_propagated: AtomicBool::new(false),
            waker: AtomicWaker::new(),
            abort: OnceLock::new(),
        }
    }

    pub(crate) fn path(&self) -> &Arc<str> {
        &self.path
    }

    /// The service of a named child. Only named children's nodes become a `Shutdown`, and
    /// each is built with its owner.
    pub(crate) fn owner(&self) -> &Owner {
        self.owner
            .as_ref()
            .expect("a named child's node is built with its owner")
    }

    /// The end of a named child's task: waits until no child of this node is alive, then
    /// closes the node (later spawns into it are aborted at once), with no window between.
    async fn wait_for_kids(&self) {
        loop {
            self.tracker.close();
            self.tracker.wait().await;
            let taken = {
                let kids = lock(&self.kids);
                let mut unnamed = lock(&self.unnamed);
                let taken = unnamed.take().filter(|set| !set.is_empty());
                if taken.is_none() && kids.live().next().is_none() && self.tracker.is_empty() {
                    self.closed.store(true, Ordering::SeqCst);
                    return;
                }
                taken
            };
            if let Some(mut set) = taken {
                self.draining.store(set.len(), Ordering::Release);
                loop {
                    // Those already done are reaped without registering a waker each.
                    while set.try_join_next().is_some() {
                        self.draining.fetch_sub(1, Ordering::AcqRel);
                    }
                    if set.join_next().await.is_none() {
                        break;
                    }
                    self.draining.fetch_sub(1, Ordering::AcqRel);
                }
            }
        }
    }

    /// Hands a child's failure to this node's task (the first one wins) and wakes it.
    fn set_propagated(&self, failure: ChildFailure) {
        {
            let mut slot = lock(&self.propagated);
            if slot.is_none() {
                *slot = Some(failure);
            }
        }
        self.has_propagated.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// Registers the waker, then takes a propagated failure if there is one.
    fn poll_propagated(&self, cx: &mut Context<'_>) -> Option<ChildFailure> {
        self.waker.register(cx.waker());
        if !self.has_propagated.load(Ordering::Acquire) {
            return None;
        }
        lock(&self.propagated).take()
    }

    /// Whether nothing below this node is alive (reaps finished unnamed children).
    fn is_empty(&self) -> bool {
        lock(&self.kids).live().next().is_none()
            && lock(&self.unnamed).as_mut().is_none_or(|set| {
                while set.try_join_next().is_some() {}
                set.is_empty()
            })
    }

    /// Live tasks in this subtree (this node's own task included).
    fn count_alive(self: &Arc<Self>) -> usize {
        let mut alive = 0;
        let mut stack = vec![Arc::clone(self)];
        while let Some(node) = stack.pop() {
            if node.abort.get().is_some_and(|h| !h.is_finished()) {
                alive += 1 + node.draining.load(Ordering::Acquire);
            }
            if let Some(set) = lock(&node.unnamed).as_mut() {
                while set.try_join_next().is_some() {}
                alive += set.len();
            }
            stack.extend(lock(&node.kids).live().cloned());
        }
        alive
    }

    /// Cancels and aborts this node's whole subtree; returns how many live tasks it aborted.
    /// Children spawned into it afterwards are aborted as they are spawned.
    fn abort_subtree(self: &Arc<Self>) -> usize {
        let mut aborted = 0;
        let mut stack = vec![Arc::clone(self)];
        while let Some(node) = stack.pop() {
            node.closed.store(true, Ordering::SeqCst);
            std::sync::atomic::fence(Ordering::SeqCst);
            node.token.cancel();
            if let Some(set) = lock(&node.unnamed).as_mut() {
                while set.try_join_next().is_some() {}
                aborted += set.len();
                set.abort_all();
            }
            stack.extend(lock(&node.kids).live().cloned());
            if let Some(handle) = node.abort.get()
                && !handle.is_finished()
            {
                handle.abort();
                aborted += 1 + node.draining.load(Ordering::Acquire);
            }
        }
        aborted
    }

    /// Spawns an unnamed child of this node: tracked by the service, awaited by this node's
    /// task, aborted with the subtree.
    pub(crate) fn spawn_unnamed<F>(&self, service: &TaskTracker, future: F) -> AbortHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let tracked = service.track_future(future);
        let mut unnamed = lock(&self.unnamed);
        let set = unnamed.get_or_insert_with(JoinSet::new);
        while set.try_join_next().is_some() {}
        let handle = set.spawn(tracked);
        if self.closed.load(Ordering::SeqCst) {
            handle.abort();
        }
        handle
    }
}

/// Removes a named child from its parent when its task ends (however it ends: also when it is
/// aborted before its first poll, since the guard is captured by the task's future).
struct Leave(Arc<ChildNode>);

impl Drop for Leave {
    fn drop(&mut self) {
        if let (Some(parent), Role::Child { slot, .. }) = (&self.0.parent, self.0.role) {
            lock(&parent.kids).remove(slot);
        }
    }
}

/// The children of one service: lazily built, so a service without named children pays 16
/// bytes for it. What the engine calls at stop: [`abort_all`](Self::abort_all),
/// [`alive`](Self::alive), [`take_failures`](Self::take_failures).
#[derive(Default)]
pub(crate) struct ChildTree {
    state: OnceLock<Box<TreeState>>,
}

#[derive(Default)]
struct TreeState {
    /// Children spawned through `Shutdown::spawn` from a service- or task-level `Shutdown`.
    unnamed: Mutex<Option<JoinSet<()>>>,
    roots: Mutex<Vec<Arc<ChildNode>>>,
    /// Whether a root was ever created: tasks of services without named children skip the lock.
    has_roots: AtomicBool,
    failures: Mutex<Vec<ChildFailure>>,
}

impl ChildTree {
    /// Forgets the whole tree (it was aborted at the service's stop) before a restart: new
    /// roots hang under the new incarnation's token.
    pub(crate) fn reset(&self) {
        if let Some(state) = self.state.get() {
            lock(&state.roots).clear();
            *lock(&state.unnamed) = None;
            lock(&state.failures).clear();
        }
    }

    fn state(&self) -> &TreeState {
        self.state.get_or_init(Box::default)
    }

    /// Aborts every live task of the tree (named and unnamed, every depth); returns how many.
    pub(crate) fn abort_all(&self) -> usize {
        let Some(state) = self.state.get() else {
            return 0;
        };
        let mut aborted = 0;
        if let Some(set) = lock(&state.unnamed).as_mut() {
            while set.try_join_next().is_some() {}
            aborted += set.len();
            set.abort_all();
        }
        // The roots go: a later run of the service's tasks starts with fresh ones.
        let roots = std::mem::take(&mut *lock(&state.roots));
        for root in &roots {
            aborted += root.abort_subtree();
        }
        aborted
    }

    /// How many tasks of the tree are alive (named and unnamed, every depth).
    pub(crate) fn alive(&self) -> usize {
        let Some(state) = self.state.get() else {
            return 0;
        };
        let mut alive = lock(&state.unnamed).as_mut().map_or(0, |set| {
            while set.try_join_next().is_some() {}
            set.len()
        });
        let roots: Vec<_> = lock(&state.roots).clone();
        for root in &roots {
            alive += root.count_alive();
        }
        alive
    }

    /// The failures recorded since the last call, in the order they happened.
    pub(crate) fn take_failures(&self) -> Vec<ChildFailure> {
        self.state
            .get()
            .map(|state| std::mem::take(&mut *lock(&state.failures)))
            .unwrap_or_default()
    }

    fn record(&self, failure: &ChildFailure) {
        let mut failures = lock(&self.state().failures);
        if failures.len() < MAX_RECORDED_FAILURES {
            failures.push(failure.clone());
        }
    }

    /// Today's `Shutdown::spawn`: one service-wide `JoinSet`, reaped on each spawn.
    pub(crate) fn spawn_unnamed<F>(&self, tracker: &TaskTracker, future: F) -> AbortHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let tracked = tracker.track_future(future);
        let mut unnamed = lock(&self.state().unnamed);
        let set = unnamed.get_or_insert_with(JoinSet::new);
        // Reap finished children so a long-lived server does not accumulate them.
        while set.try_join_next().is_some() {}
        set.spawn(tracked)
    }

    /// The live root for `task` (`None`: the service-level root), created with `path` if none.
    pub(crate) fn root(
        &self,
        task: Option<u32>,
        service_token: &CancellationToken,
        path: impl FnOnce() -> String,
    ) -> Arc<ChildNode> {
        let role = task.map_or(Role::ServiceRoot, Role::TaskRoot);
        let state = self.state();
        if let Some(root) = Self::find_root(state, role) {
            return root;
        }
        let path: Arc<str> = path().into();
        let mut roots = lock(&state.roots);
        if let Some(root) = roots
            .iter()
            .find(|r| r.role == role && !r.retired.load(Ordering::Acquire))
        {
            return Arc::clone(root);
        }
        // Retired roots stay reachable (for abort and counting) until their subtree is gone.
        roots.retain(|r| !r.retired.load(Ordering::Acquire) || !r.is_empty());
        let root = Arc::new(ChildNode::new(
            None,
            path,
            role,
            None,
            service_token.child_token(),
        ));
        roots.push(Arc::clone(&root));
        state.has_roots.store(true, Ordering::Release);
        root
    }

    fn find_root(state: &TreeState, role: Role) -> Option<Arc<ChildNode>> {
        if !state.has_roots.load(Ordering::Acquire) {
            return None;
        }
        lock(&state.roots)
            .iter()
            .find(|r| r.role == role && !r.retired.load(Ordering::Acquire))
            .cloned()
    }

    /// The live root of `task`, if one was created (no allocation when there is none).
    pub(crate) fn task_root(&self, task: u32) -> Option<Arc<ChildNode>> {
        Self::find_root(self.state.get()?, Role::TaskRoot(task))
    }

    /// A task's run failed: the children of that run are stopped (gracefully: their tokens are
    /// cancelled; the service's stop still bounds them) and the next run gets a fresh root.
    pub(crate) fn retire_task_root(&self, task: u32) {
        if let Some(root) = self.task_root(task) {
            root.retired.store(true, Ordering::Release);
            root.token.cancel();
        }
    }
}

/// Polls a task's run while watching for a child failure propagated to the task, which ends the
/// run. Keeps no state between polls (the task's root is looked up, and only in a service that
/// has named children), so a task's future does not grow.
pub(crate) fn poll_task_run<F: Future>(
    run: Pin<&mut F>,
    cx: &mut Context<'_>,
    shutdown: &Shutdown,
) -> Poll<Result<F::Output, ChildFailure>> {
    let check = |cx: &mut Context<'_>| {
        let task = shutdown.task()?;
        shutdown.children().task_root(task)?.poll_propagated(cx)
    };
    if let Some(failure) = check(cx) {
        return Poll::Ready(Err(failure));
    }
    match run.poll(cx) {
        Poll::Ready(out) => Poll::Ready(Ok(out)),
        // The run may have created the root just now: look again before sleeping.
        Poll::Pending => check(cx).map_or(Poll::Pending, |f| Poll::Ready(Err(f))),
    }
}

/// Polls a named child's run while watching its node for a failure propagated to it by one of
/// its own children: that failure ends the run (the run's future is dropped).
async fn watch<F: Future>(run: F, node: &ChildNode) -> Result<F::Output, ChildFailure> {
    let mut run = pin!(run);
    std::future::poll_fn(|cx| {
        if let Some(failure) = node.poll_propagated(cx) {
            return Poll::Ready(Err(failure));
        }
        run.as_mut().poll(cx).map(Ok)
    })
    .await
}

/// A named child, spawned by [`Shutdown::spawn_child`]: await it for its result, or stop it.
///
/// Dropping the handle detaches the child (it keeps running, tracked by its service).
///
/// ```
/// use lifecycle_core::Shutdown;
/// use lifecycle_core::task::{ChildError, ChildPolicy};
///
/// async fn checksum(shutdown: Shutdown) -> Result<u64, ChildError> {
///     let child = shutdown.spawn_child("checksum", ChildPolicy::Report, |_child: Shutdown| async {
///         Ok::<_, std::io::Error>(42)
///     });
///     child.await
/// }
/// ```
pub struct ChildHandle<T> {
    join: JoinHandle<Result<T, ChildError>>,
    node: Arc<ChildNode>,
}

impl<T> std::fmt::Debug for ChildHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildHandle")
            .field("path", &self.node.path)
            .field("finished", &self.join.is_finished())
            .finish()
    }
}

impl<T> ChildHandle<T> {
    /// The child's path: `Service/task/child`.
    pub fn path(&self) -> &str {
        &self.node.path
    }

    /// Graceful stop of the child's subtree: its [`Shutdown`] (and every descendant's) is
    /// cancelled. Nothing fails: the parent keeps running, and a failure of a cancelled child
    /// is only reported.
    pub fn cancel(&self) {
        self.node.token.cancel();
    }

    /// Aborts the child and its whole subtree at once (children spawned into the subtree later
    /// are aborted too); returns how many live tasks were aborted.
    pub fn abort(&self) -> usize {
        self.node.abort_subtree()
    }

    /// Whether the child's task (which ends after its own children) has ended.
    pub fn is_finished(&self) -> bool {
        self.join.is_finished()
    }
}

impl<T> Future for ChildHandle<T> {
    type Output = Result<T, ChildError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let joined = std::task::ready!(Pin::new(&mut self.join).poll(cx));
        let path = Arc::clone(&self.node.path);
        Poll::Ready(match joined {
            Ok(result) => result,
            Err(e) => Err(match e.try_into_panic() {
                // The child's panic is caught inside its task; this is the runtime's own.
                Ok(payload) => ChildError::Failed(ChildFailure {
                    path,
                    error: Arc::new(Panicked::from_payload(&*payload)),
                }),
                Err(_) => ChildError::Aborted { path },
            }),
        })
    }
}

impl Shutdown {
    /// Spawns a named child task with its own [`Shutdown`] (cancelled with this one's, or alone
    /// through the handle), in its own tracing span, tracked by the service (its stop waits for
    /// the child until `stop_timeout`, then aborts it). The child can spawn children of its own.
    ///
    /// `policy` says what its failure (an error or a panic) does: [`ChildPolicy::Propagate`]
    /// fails the parent (a task's run fails and its restart policy applies),
    /// [`ChildPolicy::Report`] only records it. Every failure is in the service's
    /// [`StopReport`](crate::StopReport) with its path.
    ///
    /// The child's task ends once its own children (named and unnamed) ended; if it failed, its
    /// children are cancelled first. Once it ended (or was aborted), what is spawned from its
    /// `Shutdown` is aborted at once, so nothing escapes the tree.
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifecycle_core::Shutdown;
    /// use lifecycle_core::task::ChildPolicy;
    ///
    /// // A task: one session per client, each with a heartbeat child; a session's failure
    /// // fails this run (and its restart policy applies).
    /// async fn serve(shutdown: Shutdown) -> std::io::Result<()> {
    ///     for id in 0..3u32 {
    ///         shutdown.spawn_child(format!("session-{id}"), ChildPolicy::Propagate, |session: Shutdown| async move {
    ///             session.spawn_child("heartbeat", ChildPolicy::Report, |hb: Shutdown| async move {
    ///                 while !hb.is_cancelled() {
    ///                     tokio::time::sleep(Duration::from_secs(1)).await;
    ///                 }
    ///             });
    ///             session.cancelled().await;
    ///             Ok::<_, std::io::Error>(())
    ///         });
    ///     }
    ///     shutdown.cancelled().await;
    ///     Ok(())
    /// }
    /// ```
    pub fn spawn_child<F, Fut>(
        &self,
        name: impl Into<Cow<'static, str>>,
        policy: ChildPolicy,
        make: F,
    ) -> ChildHandle<<Fut::Output as ChildOutcome>::Value>
    where
        F: FnOnce(Shutdown) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: ChildOutcome,
    {
        let parent = self.parent_node();
        let name = name.into();
        let path: Arc<str> = format!("{}/{name}", parent.path).into();
        let span = tracing::info_span!("child", path = %path);
        let service_tracker = self.service_tracker().clone();
        let (node, in_parent) = {
            let mut kids = lock(&parent.kids);
            let node = Arc::new(ChildNode::new(
                Some(self.owner()),
                path,
                Role::Child {
                    policy,
                    slot: kids.vacant(),
                },
                Some(Arc::clone(&parent)),
                parent.token.child_token(),
            ));
            kids.insert(Arc::clone(&node));
            // Counted by the parent from now on: it cannot end while this child is set up.
            (node, parent.tracker.token())
        };
        let shutdown = Shutdown::of_child(Arc::clone(&node));
        let reporter = shutdown.clone();
        let leave = Leave(Arc::clone(&node));
        // The user's closure runs with no lock held (it may spawn siblings); if it panics,
        // `leave` takes the node out again.
        let run = make(shutdown);
        let task = async move {
            let _in_parent = in_parent;
            let leave = leave;
            let node = &leave.0;
            let run = AssertUnwindSafe(run)
                .map(ChildOutcome::into_child_result)
                .catch_unwind();
            let result = match watch(run, node).await {
                Ok(Ok(Ok(value))) => Ok(value),
                Ok(Ok(Err(error))) => Err(reporter.child_failed(node, Arc::from(error))),
                Ok(Err(panic)) => {
                    Err(reporter.child_failed(node, Arc::new(Panicked::from_payload(&*panic))))
                }
                // Recorded where it began; passed on up if this child's policy says so.
                Err(failure) => {
                    reporter.propagate(node, &failure);
                    Err(failure)
                }
            };
            if result.is_err() {
                node.token.cancel();
            }
            node.wait_for_kids().await;
            result.map_err(ChildError::Failed)
        };
        let tracked = service_tracker.track_future(task);
        let join = if span.is_disabled() {
            tokio::spawn(tracked)
        } else {
            tokio::spawn(tracked.instrument(span))
        };
        let _ = node.abort.set(join.abort_handle());
        // Pairs with the fence in `abort_subtree`: either it sees the abort handle, or this
        // sees the subtree closed (by then or since).
        std::sync::atomic::fence(Ordering::SeqCst);
        if parent.closed.load(Ordering::SeqCst) || node.closed.load(Ordering::SeqCst) {
            join.abort();
        }
        ChildHandle { join, node }
    }

    /// Records a child's own failure, logs it and propagates it if its policy says so.
    fn child_failed(
        &self,
        node: &Arc<ChildNode>,
        error: Arc<dyn StdError + Send + Sync>,
    ) -> ChildFailure {
        let failure = ChildFailure {
            path: Arc::clone(&node.path),
            error,
        };
        let policy = match node.role {
            Role::Child { policy, .. } => policy,
            _ => ChildPolicy::Report,
        };
        tracing::error!(path = %failure.path, error = %failure.error, ?policy, "child failed");
        self.children().record(&failure);
        self.propagate(node, &failure);
        failure
    }

    /// Hands `failure` to `node`'s parent if `node` propagates and is not being stopped.
    fn propagate(&self, node: &ChildNode, failure: &ChildFailure) {
        let propagates = matches!(
            node.role,
            Role::Child {
                policy: ChildPolicy::Propagate,
                ..
            }
        );
        if !propagates || node.token.is_cancelled() {
            return;
        }
        let Some(parent) = &node.parent else { return };
        match parent.role {
            Role::ServiceRoot => {
                // The path is in the failure (the error); the "task" is the service's children.
                self.engine()
                    .escalate(self.index(), "children", Box::new(failure.clone()));
            }
            Role::TaskRoot(_) | Role::Child { .. } => parent.set_propagated(failure.clone()),
        }
    }
}
