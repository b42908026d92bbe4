//! One persistent helper thread that shares chunked work with the calling
//! thread (the engine's parallel filter and score passes).
//!
//! [`Worker::run`] posts a [`Job`], then both threads claim its chunks
//! from one atomic counter until none is left; `run` returns once every
//! chunk has run and the helper holds no reference to the job any more
//! (so the caller may `Arc::try_unwrap` it and take its inputs back).
//! Chunk claiming makes the split adapt to the machine: a helper that is
//! not scheduled in time (a busy machine) simply runs fewer chunks, and if
//! it has not started when the caller runs out of chunks the caller takes
//! the job back and does not wait for it at all.
//!
//! Waking costs little in a batch: after a job the helper spins for
//! [`SPIN`] before it parks (a job posted meanwhile starts without a
//! futex wake-up); the caller likewise spins, then parks, while the helper
//! finishes its last chunk. Which thread runs which chunk is not
//! deterministic; a job must make each chunk's result independent of that
//! (the engine writes each chunk's output into that chunk's own buffer and
//! merges them in chunk order).
//!
//! No `unsafe`: the job is shared by `Arc`, chunk outputs live behind
//! their own (uncontended) mutexes. A panic in a chunk run by the helper is
//! caught there and resumed on the caller's thread when `run` returns.

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

/// How long a thread spins for the other before it parks.
pub const SPIN: Duration = Duration::from_micros(20);

/// Work split into chunks that may run on either thread, in any order,
/// each exactly once.
pub trait Job: Send + Sync {
    /// The number of chunks.
    fn chunks(&self) -> usize;
    /// Runs chunk `c` (`c < chunks()`).
    fn run_chunk(&self, c: usize);
}

/// No job posted (or the last one finished or was taken back).
const IDLE: u8 = 0;
/// A job is posted and the helper has not started on it.
const POSTED: u8 = 1;
/// The helper is running chunks of the posted job.
const BUSY: u8 = 2;

struct Shared {
    state: AtomicU8,
    /// The posted job (set before `state` becomes POSTED, cleared by the
    /// caller once the state is IDLE again).
    job: Mutex<Option<Arc<dyn Job>>>,
    /// The next chunk to claim.
    next: AtomicUsize,
    /// The thread to unpark when the helper finishes.
    caller: Mutex<Option<Thread>>,
    /// A panic payload caught on the helper thread.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    shutdown: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Spins for up to [`SPIN`], then parks, until `done()` holds (the other
/// thread unparks this one after making it hold).
fn wait_until(done: impl Fn() -> bool) {
    let mut spins = 0u32;
    let mut since: Option<Instant> = None;
    while !done() {
        std::hint::spin_loop();
        spins = spins.wrapping_add(1);
        if spins & 63 == 0 {
            let t0 = *since.get_or_insert_with(Instant::now);
            if t0.elapsed() >= SPIN {
                break;
            }
        }
    }
    while !done() {
        thread::park();
    }
}

/// The helper thread; dropping it stops and joins the thread.
pub struct Worker {
    shared: Arc<Shared>,
    handle: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").finish_non_exhaustive()
    }
}

impl Worker {
    /// Starts the helper thread; None if the OS refuses a thread.
    pub fn spawn() -> Option<Self> {
        let shared = Arc::new(Shared {
            state: AtomicU8::new(IDLE),
            job: Mutex::new(None),
            next: AtomicUsize::new(0),
            caller: Mutex::new(None),
            panic: Mutex::new(None),
            shutdown: AtomicBool::new(false),
        });
        let s = Arc::clone(&shared);
        let handle = thread::Builder::new()
            .name("kubemu-sched-worker".into())
            .spawn(move || helper_loop(&s))
            .ok()?;
        Some(Self {
            shared,
            handle: Some(handle),
        })
    }

    /// Runs every chunk of `job` on this thread and the helper, and hands
    /// the job back once all have run and the helper has let go of it,
    /// with how long this thread spent running chunks and then waiting for
    /// the helper. A panic in a chunk is resumed here.
    pub fn run<J: Job + 'static>(&self, job: J) -> (J, RunTimes) {
        let s = &*self.shared;
        let job = Arc::new(job);
        let n = job.chunks();
        lock(&s.panic).take();
        s.next.store(0, Ordering::Relaxed);
        *lock(&s.job) = Some(Arc::clone(&job) as Arc<dyn Job>);
        *lock(&s.caller) = Some(thread::current());
        s.state.store(POSTED, Ordering::Release);
        if let Some(h) = &self.handle {
            h.thread().unpark();
        }
        let t0 = Instant::now();
        let own;
        let mut own_chunks = 0;
        {
            // Also on unwinding (a chunk panicked here): the helper must be
            // done with this job before the next one resets the counter.
            let _finish = Finish(s);
            loop {
                let c = s.next.fetch_add(1, Ordering::Relaxed);
                if c >= n {
                    break;
                }
                job.run_chunk(c);
                own_chunks += 1;
            }
            own = t0.elapsed();
        }
        let times = RunTimes {
            own,
            waited: t0.elapsed().saturating_sub(own),
            helper_chunks: n - own_chunks,
        };
        if let Some(p) = lock(&s.panic).take() {
            resume_unwind(p);
        }
        // `Finish` made the helper drop its reference and cleared the
        // slot, so this is the last one and the loop ends at once; it
        // yields rather than fails should that ever not hold.
        let mut job = job;
        loop {
            match Arc::try_unwrap(job) {
                Ok(j) => return (j, times),
                Err(shared) => {
                    job = shared;
                    thread::yield_now();
                }
            }
        }
    }
}

/// Where the calling thread's time in [`Worker::run`] went.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunTimes {
    /// Running chunks.
    pub own: Duration,
    /// Waiting for the helper to finish its chunks.
    pub waited: Duration,
    /// The chunks the helper ran.
    pub helper_chunks: usize,
}

/// Ends a [`Worker::run`]: takes the job back if the helper never started
/// on it, otherwise waits until the helper has finished its chunks and
/// dropped its reference; then clears the slot.
struct Finish<'a>(&'a Shared);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        let s = self.0;
        if s.state
            .compare_exchange(POSTED, IDLE, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            wait_until(|| s.state.load(Ordering::Acquire) == IDLE);
        }
        lock(&s.job).take();
    }
}

fn helper_loop(s: &Shared) {
    loop {
        wait_until(|| {
            s.state.load(Ordering::Acquire) == POSTED || s.shutdown.load(Ordering::Acquire)
        });
        if s.shutdown.load(Ordering::Acquire) {
            return;
        }
        if s.state
            .compare_exchange(POSTED, BUSY, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            continue;
        }
        let job = lock(&s.job).clone();
        if let Some(job) = job {
            let n = job.chunks();
            let r = catch_unwind(AssertUnwindSafe(|| loop {
                let c = s.next.fetch_add(1, Ordering::Relaxed);
                if c >= n {
                    break;
                }
                job.run_chunk(c);
            }));
            drop(job);
            if let Err(p) = r {
                *lock(&s.panic) = Some(p);
            }
        }
        let caller = lock(&s.caller).clone();
        s.state.store(IDLE, Ordering::Release);
        if let Some(t) = caller {
            t.unpark();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            h.thread().unpark();
            // The helper only returns from its loop; a panic outside a
            // chunk (none is expected) is not propagated from a drop.
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Count {
        chunks: usize,
        hits: Vec<AtomicUsize>,
    }

    impl Job for Count {
        fn chunks(&self) -> usize {
            self.chunks
        }
        fn run_chunk(&self, c: usize) {
            self.hits[c].fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn every_chunk_runs_once_and_the_job_is_released() {
        let w = Worker::spawn().expect("thread");
        for round in 0..200 {
            let chunks = round % 9;
            let (job, _) = w.run(Count {
                chunks,
                hits: (0..chunks).map(|_| AtomicUsize::new(0)).collect(),
            });
            assert!(job.hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
        }
    }

    struct Panics;

    impl Job for Panics {
        fn chunks(&self) -> usize {
            64
        }
        fn run_chunk(&self, c: usize) {
            if c == 63 {
                panic!("chunk {c}");
            }
            thread::sleep(Duration::from_micros(50));
        }
    }

    #[test]
    fn a_panic_in_a_chunk_reaches_the_caller_and_the_worker_survives() {
        let w = Worker::spawn().expect("thread");
        let r = catch_unwind(AssertUnwindSafe(|| w.run(Panics)));
        assert!(r.is_err());
        // Still usable afterwards.
        let (ok, _) = w.run(Count {
            chunks: 3,
            hits: (0..3).map(|_| AtomicUsize::new(0)).collect(),
        });
        assert!(ok.hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
    }
}
