//! mimalloc's settings for a short-lived process that frees each unit as it is checked: freed
//! pages go back to the system at once (not after a second) and arena memory is committed as it is
//! used (not ahead), so the peak RSS of a 10,000-Lambda check is what it holds, not what it
//! held (BENCHMARKS.md, "Peak memory"). Wall time is unchanged within the noise.
//!
//! Both binaries (`lambda-gate` and `lambda-gate-hook`) include this file as their
//! `allocator` module.

use std::os::raw::{c_int, c_long};

// The gate allocates many small, short-lived strings per file: mimalloc is markedly faster
// at that than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// mimalloc 3's `mi_option_t` (include/mimalloc.h of libmimalloc-sys 0.1.49).
const ARENA_EAGER_COMMIT: c_int = 4;
const PURGE_DELAY: c_int = 15;

extern "C" {
    fn mi_option_get(option: c_int) -> c_long;
    fn mi_option_set(option: c_int, value: c_long);
}

/// Sets each option that still holds mimalloc's documented default: a value set through
/// `MIMALLOC_*` in the environment is the user's and stays, and a mimalloc that numbers
/// its options otherwise is left as it is.
pub fn release_at_once() {
    for (option, default, value) in [(PURGE_DELAY, 1000, 0), (ARENA_EAGER_COMMIT, 2, 0)] {
        // SAFETY: mimalloc is this process's allocator (linked by the `mimalloc` crate); its
        // options may be read and set at any time, from any thread.
        unsafe {
            if mi_option_get(option) == default {
                mi_option_set(option, value);
            }
        }
    }
}

/// `release_at_once` before `main`, and before mimalloc's own start-up reserves its first
/// arena: ELF start-up runs `.init_array` entries that have a priority before those that
/// have none, and mimalloc's has none when a C compiler other than clang builds it (as
/// `cc` does on Linux). Set later, the eager commit no longer applies to that arena.
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array.00101"]
static RELEASE_AT_ONCE_AT_START: extern "C" fn() = release_at_start;

#[cfg(target_os = "linux")]
extern "C" fn release_at_start() {
    release_at_once();
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_options_are_set_before_main_as_this_mimalloc_numbers_them() {
        // The start-up entry set them from their documented defaults (1000, 2) to 0. Were
        // an index another option's, whose default is not the one documented here, it
        // would have been left as it was.
        // SAFETY: as in `release_at_once`.
        let now = unsafe {
            [super::PURGE_DELAY, super::ARENA_EAGER_COMMIT].map(|o| super::mi_option_get(o))
        };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none()
            && std::env::var_os("MIMALLOC_ARENA_EAGER_COMMIT").is_none()
        {
            assert_eq!(now, [0, 0]);
        }
    }
}
