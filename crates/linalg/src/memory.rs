//! The one per-thread memory pool: work matrices of the dense forward pass, and the
//! [`ActionWorkspace`] blocks of pooled actions, under one byte budget.
//!
//! An `Expm` holds about a dozen n×n matrices. Freed at the end of a call, glibc returns that
//! memory to the OS (heap trimming, or `munmap` above the mmap threshold), and the next call
//! page-faults it back in: measured at 17–33% of `expm` in loops for 64 ≤ n ≤ 512 (perf:
//! `exc_page_fault`, `clear_page_erms`, `__memset`). Matrices freed by a dropped cache go
//! back to this pool instead, and the next forward pass takes them from it. The taped action
//! of the exponential does the same with its Taylor blocks ([`PooledAction`](crate::PooledAction)):
//! a tape node dropped at `clear` leaves its workspace here for the next iteration. Bounded:
//! at most [`POOL_BYTES`] per thread for everything held, and [`POOL_ENTRIES`] loose
//! matrices; anything beyond is freed as usual.
//! Small matrices are pooled too: faer allocates every matrix aligned, and glibc's aligned
//! allocation path (`_int_memalign`) was 28% of a 4×4 value-and-gradient step (perf).
//!
//! Tests: `crates/linalg/tests/action_storage.rs` (bitwise-equal recycled results).

use crate::action::ActionWorkspace;
use core::any::Any;
use core::cell::RefCell;
use faer::Mat;
use faer::traits::ComplexField;

/// Upper bound of the memory one thread's pool keeps, matrices and workspaces together, all
/// scalar types together.
pub(crate) const POOL_BYTES: usize = 256 << 20;

/// At most this many loose matrices (the lookups are linear scans).
pub(crate) const POOL_ENTRIES: usize = 64;

/// What one thread holds: each entry with its size in bytes.
#[derive(Default)]
struct Pool {
    mats: Vec<(usize, Box<dyn Any>)>,
    workspaces: Vec<(usize, Box<dyn Any>)>,
}

impl Pool {
    fn held(&self) -> usize {
        self.mats.iter().chain(&self.workspaces).map(|e| e.0).sum()
    }
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::new(Pool::default());
}

fn bytes_of<T>(m: &Mat<T>) -> usize {
    m.nrows() * m.ncols() * core::mem::size_of::<T>()
}

/// An r×c matrix of zeros, recycled when the pool has one of that shape.
pub(crate) fn zeros<T: ComplexField + 'static>(r: usize, c: usize) -> Mat<T> {
    match take(r, c) {
        Some(mut m) => {
            m.fill(T::zero_impl());
            m
        }
        None => Mat::zeros(r, c),
    }
}

/// An r×c matrix whose every entry the caller overwrites before reading (a product's output
/// with `Accum::Replace`): recycled from the pool without clearing, else zeros.
pub(crate) fn scratch<T: ComplexField + 'static>(r: usize, c: usize) -> Mat<T> {
    take(r, c).unwrap_or_else(|| Mat::zeros(r, c))
}

fn take<T: ComplexField + 'static>(r: usize, c: usize) -> Option<Mat<T>> {
    let hit = POOL
        .try_with(|p| {
            let mut p = p.borrow_mut();
            let i = p.mats.iter().position(|(_, b)| {
                b.downcast_ref::<Mat<T>>()
                    .is_some_and(|m| m.shape() == (r, c))
            })?;
            p.mats.swap_remove(i).1.downcast::<Mat<T>>().ok()
        })
        .ok()
        .flatten();
    hit.map(|m| *m)
}

/// `a·b` in a matrix from the pool: the forward pass's products, whose matrices a dropped
/// [`Expm`](crate::Expm) gives back.
pub(crate) fn product<T: ComplexField + 'static>(
    a: faer::MatRef<'_, T>,
    b: faer::MatRef<'_, T>,
    par: faer::Par,
) -> Mat<T> {
    let mut out = scratch::<T>(a.nrows(), b.ncols());
    crate::kernels::matmul_into(out.as_mut(), a, b, par);
    out
}

/// Gives `m` back to the pool (or frees it if the pool is full or `m` is empty).
pub(crate) fn recycle<T: ComplexField + 'static>(m: Mat<T>) {
    let bytes = bytes_of(&m);
    if bytes == 0 {
        return;
    }
    let _ = POOL.try_with(|p| {
        let mut p = p.borrow_mut();
        if p.held() + bytes <= POOL_BYTES && p.mats.len() < POOL_ENTRIES {
            p.mats.push((bytes, Box::new(m)));
        }
    });
}

/// Most matrices the pool of small matrices keeps, per thread and scalar type.
const SMALL_ENTRIES: usize = 32;

/// Largest matrix (in entries) the pool of small matrices keeps (16×16).
pub(crate) const SMALL_MAX_ENTRIES: usize = 256;

thread_local! {
    /// Small matrices (tape node values, cotangents, the small path's results), typed, with
    /// no box per entry: faer allocates every matrix 64-byte aligned, and glibc serves an
    /// aligned request outside its thread cache (`_int_memalign`: 20% of an n = 4
    /// value-and-gradient step on the tape, perf).
    static SMALL_F64: RefCell<Vec<Mat<f64>>> = const { RefCell::new(Vec::new()) };
    static SMALL_F32: RefCell<Vec<Mat<f32>>> = const { RefCell::new(Vec::new()) };
}

type SmallPool<U> = &'static std::thread::LocalKey<RefCell<Vec<Mat<U>>>>;

/// An r×c matrix from the pool of small matrices (contents arbitrary), if it holds one.
pub(crate) fn small_take<T: 'static>(r: usize, c: usize) -> Option<Mat<T>> {
    fn pop<U>(pool: SmallPool<U>, r: usize, c: usize) -> Option<Mat<U>> {
        pool.try_with(|p| {
            let mut p = p.borrow_mut();
            let i = p.iter().rposition(|m| m.nrows() == r && m.ncols() == c)?;
            Some(p.swap_remove(i))
        })
        .ok()
        .flatten()
    }
    if r * c == 0 || r * c > SMALL_MAX_ENTRIES {
        return None;
    }
    let mut out: Option<Mat<T>> = None;
    let any: &mut dyn Any = &mut out;
    if let Some(m) = any.downcast_mut::<Option<Mat<f64>>>() {
        *m = pop(&SMALL_F64, r, c);
    } else if let Some(m) = any.downcast_mut::<Option<Mat<f32>>>() {
        *m = pop(&SMALL_F32, r, c);
    }
    out
}

/// Keeps `m` in the pool of small matrices when it is small; a full pool drops its oldest
/// entry (so that a shape given back more often than taken cannot starve the others).
pub(crate) fn small_give<T: 'static>(mut m: Mat<T>) {
    fn push<U>(pool: SmallPool<U>, m: Mat<U>) {
        let _ = pool.try_with(|p| {
            let mut p = p.borrow_mut();
            if p.len() >= SMALL_ENTRIES {
                p.swap_remove(0);
            }
            p.push(m);
        });
    }
    let size = m.nrows() * m.ncols();
    if size == 0 || size > SMALL_MAX_ENTRIES {
        return;
    }
    let any: &mut dyn Any = &mut m;
    if let Some(m) = any.downcast_mut::<Mat<f64>>() {
        push(&SMALL_F64, core::mem::replace(m, Mat::new()));
    } else if let Some(m) = any.downcast_mut::<Mat<f32>>() {
        push(&SMALL_F32, core::mem::replace(m, Mat::new()));
    }
}

/// This thread's [`ActionWorkspace`] for `T` (empty if none is held).
pub(crate) fn take_workspace<T: ComplexField + 'static>() -> ActionWorkspace<T> {
    POOL.try_with(|p| {
        let mut p = p.borrow_mut();
        let i = p
            .workspaces
            .iter()
            .position(|(_, b)| b.is::<ActionWorkspace<T>>())?;
        p.workspaces
            .swap_remove(i)
            .1
            .downcast::<ActionWorkspace<T>>()
            .ok()
    })
    .ok()
    .flatten()
    .map_or_else(ActionWorkspace::new, |ws| *ws)
}

/// Keeps `ws` for the next [`take_workspace`], trimmed to what the byte budget leaves.
pub(crate) fn give_workspace<T: ComplexField + 'static>(mut ws: ActionWorkspace<T>) {
    // `try_with`: during thread teardown the pool may already be gone; then just drop.
    let _ = POOL.try_with(|p| {
        let mut p = p.borrow_mut();
        let room = POOL_BYTES.saturating_sub(p.held());
        ws.trim(room / core::mem::size_of::<T>().max(1));
        let bytes = ws.values() * core::mem::size_of::<T>();
        p.workspaces.push((bytes, Box::new(ws)));
    });
}
