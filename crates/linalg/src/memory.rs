//! A per-thread pool of work matrices for the forward pass.
//!
//! An `Expm` holds about a dozen n×n matrices. Freed at the end of a call, glibc returns that
//! memory to the OS (heap trimming, or `munmap` above the mmap threshold), and the next call
//! page-faults it back in: measured at 17–33% of `expm` in loops for 64 ≤ n ≤ 512 (perf:
//! `exc_page_fault`, `clear_page_erms`, `__memset`). Matrices freed by a dropped cache go
//! back to this pool instead, and the next forward pass takes them from it. Bounded: at most
//! [`POOL_BYTES`] and [`POOL_ENTRIES`] matrices per thread; anything beyond is freed as usual.
//! Small matrices are pooled too: faer allocates every matrix aligned, and glibc's aligned
//! allocation path (`_int_memalign`) was 28% of a 4×4 value-and-gradient step (perf).

use core::any::Any;
use core::cell::RefCell;
use faer::Mat;
use faer::traits::RealField;

/// Upper bound of the memory one thread's pool keeps per scalar type.
pub(crate) const POOL_BYTES: usize = 128 << 20;

/// At most this many matrices (the lookups are linear scans).
pub(crate) const POOL_ENTRIES: usize = 64;

thread_local! {
    static POOL: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// An r×c matrix of zeros, recycled when the pool has one of that shape.
pub(crate) fn zeros<T: RealField + 'static>(r: usize, c: usize) -> Mat<T> {
    let hit = POOL
        .try_with(|p| {
            let mut p = p.borrow_mut();
            let i = p.iter().position(|b| {
                b.downcast_ref::<Mat<T>>()
                    .is_some_and(|m| m.shape() == (r, c))
            })?;
            p.swap_remove(i).downcast::<Mat<T>>().ok()
        })
        .ok()
        .flatten();
    match hit {
        Some(mut m) => {
            m.fill(T::zero_impl());
            *m
        }
        None => Mat::zeros(r, c),
    }
}

/// Gives `m` back to the pool (or frees it if the pool is full or `m` is tiny).
pub(crate) fn recycle<T: RealField + 'static>(m: Mat<T>) {
    let bytes = m.nrows() * m.ncols() * core::mem::size_of::<T>();
    if bytes == 0 {
        return;
    }
    let _ = POOL.try_with(|p| {
        let mut p = p.borrow_mut();
        let held: usize = p
            .iter()
            .filter_map(|b| b.downcast_ref::<Mat<T>>())
            .map(|m| m.nrows() * m.ncols() * core::mem::size_of::<T>())
            .sum();
        if held + bytes <= POOL_BYTES && p.len() < POOL_ENTRIES {
            p.push(Box::new(m));
        }
    });
}
