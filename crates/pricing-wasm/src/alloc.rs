//! The package's memory allocator, in place of Rust's default (dlmalloc),
//! which alone was 6.5 KB of the module (3.5 KB gzipped) and which every
//! visitor of a pricing page downloads.
//!
//! Power-of-two size classes from 16 bytes, each with a free list threaded
//! through its freed blocks; new blocks are carved from pages grown from the
//! module's memory. A freed block is reused by the next allocation of its
//! class, so a page that prices on every keystroke reaches a steady size
//! (a test in `tests/common` prices 2 000 times and checks that memory
//! stopped growing). The cost is up to half of a block unused, which the
//! engine's small, short-lived allocations do not feel.
//!
//! The module is single-threaded (wasm32 without the atomics feature): one
//! thread ever touches the allocator's state.

// The one place the workspace lets `unsafe` in: a global allocator is an unsafe trait.
#![allow(unsafe_code)]
// Natively (the crate's own tests) nothing registers it.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use core::ptr;

/// The smallest block, 16 bytes (2⁴): room for the free list's link, and
/// the alignment a `Layout` of the engine asks for at most.
const MIN_SHIFT: u32 = 4;
/// Size classes from 2⁴ to 2³¹ bytes.
const CLASSES: usize = 28;
/// A wasm page.
const PAGE: usize = 65_536;
/// Memory grows by at least 1 MiB at a time.
const GROW_PAGES: usize = 16;

/// The allocator's state: each class's free list (the address of its first
/// free block, 0 when none; each free block holds the next one's address in
/// its first word) and the carved part of the grown region.
pub struct Allocator {
    free: [Cell<usize>; CLASSES],
    top: Cell<usize>,
    end: Cell<usize>,
}

// SAFETY: wasm32-unknown-unknown without atomics runs one thread; nothing
// else can reach the cells.
unsafe impl Sync for Allocator {}

impl Allocator {
    /// No memory yet: the first allocation grows it.
    #[must_use]
    pub const fn new() -> Self {
        Self { free: [const { Cell::new(0) }; CLASSES], top: Cell::new(0), end: Cell::new(0) }
    }

    /// A fresh block of `size` bytes aligned to `align` (both powers of two,
    /// `align` at most a page), carved from the region (grown as needed);
    /// 0 when memory cannot grow.
    fn carve(&self, size: usize, align: usize) -> usize {
        loop {
            let start = self.top.get().wrapping_add(align.wrapping_sub(1)) & !align.wrapping_sub(1);
            if let Some(end) = start.checked_add(size)
                && start >= self.top.get()
                && end <= self.end.get()
            {
                self.top.set(end);
                return start;
            }
            let pages = size.div_ceil(PAGE).max(GROW_PAGES);
            let before = grow(pages);
            let (Some(base), Some(grown)) = (before.checked_mul(PAGE), pages.checked_mul(PAGE)) else { return 0 };
            let Some(end) = base.checked_add(grown) else { return 0 };
            if base != self.end.get() {
                // Not contiguous with the region (the first growth): start afresh at the new pages.
                self.top.set(base);
            }
            self.end.set(end);
        }
    }
}

/// Grows the module's memory by `pages`: the page count before, or `usize::MAX` when it cannot.
#[cfg(target_arch = "wasm32")]
fn grow(pages: usize) -> usize {
    core::arch::wasm32::memory_grow(0, pages)
}

/// Off wasm (the crate's native tests) there is no module memory to grow.
#[cfg(not(target_arch = "wasm32"))]
fn grow(_pages: usize) -> usize {
    usize::MAX
}

impl Default for Allocator {
    fn default() -> Self {
        Self::new()
    }
}

/// The class of a layout: `2^(class + MIN_SHIFT)` bytes hold it, aligned.
fn class(layout: Layout) -> Option<usize> {
    let size = layout.size().max(layout.align()).max(1 << MIN_SHIFT);
    // The bits of size − 1: ⌈log₂ size⌉.
    let bits = usize::BITS.wrapping_sub(size.wrapping_sub(1).leading_zeros());
    let c = usize::try_from(bits.wrapping_sub(MIN_SHIFT)).ok()?;
    (c < CLASSES).then_some(c)
}

// SAFETY: blocks handed out never overlap (each is carved once, or taken from
// its class's free list, to which only `dealloc` returns it); a block of
// class c is 2^(c+4) bytes, at least the layout's size, and aligned to its
// size (up to a page), so to any alignment a layout of that class asks for
// (a layout aligned to more than a page is refused: a null pointer).
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() > PAGE {
            return ptr::null_mut();
        }
        let Some(c) = class(layout) else { return ptr::null_mut() };
        let Some(list) = self.free.get(c) else { return ptr::null_mut() };
        let head = list.get();
        if head != 0 {
            // SAFETY: a free block's first word holds the next free block of its class.
            list.set(unsafe { *(head as *const usize) });
            return head as *mut u8;
        }
        let size = 1usize << (c as u32).wrapping_add(MIN_SHIFT);
        self.carve(size, size.min(PAGE)) as *mut u8
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        let Some(list) = class(layout).and_then(|c| self.free.get(c)) else { return };
        // SAFETY: `block` came from `alloc` with this layout: a block of this
        // class, at least 16 bytes, aligned, no longer used by its owner.
        unsafe { *(block.cast::<usize>()) = list.get() };
        list.set(block as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_the_smallest_power_of_two_that_holds_the_layout() {
        let c = |size, align| class(Layout::from_size_align(size, align).unwrap());
        assert_eq!(c(0, 1), Some(0));
        assert_eq!(c(16, 8), Some(0));
        assert_eq!(c(17, 1), Some(1));
        assert_eq!(c(32, 1), Some(1));
        assert_eq!(c(1, 64), Some(2), "alignment counts as size");
        assert_eq!(c(1 << 31, 1), Some(27));
        assert_eq!(c((1 << 31) + 1, 1), None, "over the largest class: no block");
    }

    #[test]
    fn without_memory_to_grow_an_allocation_fails_cleanly() {
        let a = Allocator::new();
        // SAFETY: a valid, non-zero-size layout.
        let block = unsafe { a.alloc(Layout::from_size_align(24, 8).unwrap()) };
        assert!(block.is_null());
    }
}
