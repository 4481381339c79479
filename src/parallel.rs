//! Work goes to rayon's workers only where that pays.
//!
//! Starting the pool costs about a millisecond on the calling side: a thread per core, each
//! with its own allocator heap, whose idle workers then spin for work. That is more than a
//! pre-commit run's one changed Lambda takes to check (BENCHMARKS.md, "pre-commit"). So work
//! begun on a thread outside the pool goes to the workers only from a size on, given by each
//! caller for the kind of item it has; on a worker (the pool is running) any work of two
//! items or more does. The results are the same either way, in the same order.

use rayon::prelude::*;

/// Whether `items` items go to the workers: see the module's documentation.
fn on_workers(items: usize, min_items: usize) -> bool {
    items > 1 && (items >= min_items || rayon::current_thread_index().is_some())
}

/// `items` mapped by `f`, in order; each item is dropped as soon as `f` is done with it.
pub fn map<T, R>(items: Vec<T>, min_items: usize, f: impl Fn(T) -> R + Sync + Send) -> Vec<R>
where
    T: Send,
    R: Send,
{
    if on_workers(items.len(), min_items) {
        items.into_par_iter().map(f).collect()
    } else {
        items.into_iter().map(f).collect()
    }
}

/// The items of `items` mapped by `f`, in order.
pub fn map_ref<'a, T, R>(
    items: &'a [T],
    min_items: usize,
    f: impl Fn(&'a T) -> R + Sync + Send,
) -> Vec<R>
where
    T: Sync,
    R: Send,
{
    if on_workers(items.len(), min_items) {
        items.par_iter().map(f).collect()
    } else {
        items.iter().map(f).collect()
    }
}

/// The first item of `items`, in order, that `predicate` holds for.
pub fn find_first<'a, T: Sync>(
    items: &'a [T],
    min_items: usize,
    predicate: impl Fn(&&'a T) -> bool + Sync + Send,
) -> Option<&'a T> {
    if on_workers(items.len(), min_items) {
        items.par_iter().find_first(predicate)
    } else {
        items.iter().find(predicate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_work_stays_on_the_calling_thread_and_large_work_goes_to_the_workers() {
        let on = |_: &u32| rayon::current_thread_index();
        // The test harness runs this on a thread of its own, outside rayon's pool.
        assert_eq!(rayon::current_thread_index(), None);
        assert!(map_ref(&[1, 2, 3], 4, on).iter().all(Option::is_none));
        assert!(map(vec![1], 1, |n| on(&n)).iter().all(Option::is_none));
        let large: Vec<u32> = (0..64).collect();
        let workers = map_ref(&large, 4, on);
        assert!(workers.iter().all(Option::is_some));
    }

    #[test]
    fn on_a_worker_any_two_items_go_to_the_workers() {
        let inner = rayon::scope(|_| map_ref(&[1u32, 2], 1000, |_| rayon::current_thread_index()));
        assert!(inner.iter().all(Option::is_some));
        let alone = rayon::scope(|_| map_ref(&[1u32], 1000, |_| rayon::current_thread_index()));
        // One item runs where the caller is: here, a worker too.
        assert!(alone.iter().all(Option::is_some));
    }

    #[test]
    fn results_keep_their_order_either_way() {
        let items: Vec<u32> = (0..1000).collect();
        let serial = map(items.clone(), usize::MAX, |n| n * 2);
        let parallel = map(items.clone(), 2, |n| n * 2);
        assert_eq!(serial, parallel);
        assert_eq!(serial, items.iter().map(|n| n * 2).collect::<Vec<_>>());
        assert_eq!(find_first(&items, usize::MAX, |n| **n > 500), Some(&501));
        assert_eq!(find_first(&items, 2, |n| **n > 500), Some(&501));
        assert_eq!(find_first(&items, 2, |n| **n > 5000), None);
    }
}
