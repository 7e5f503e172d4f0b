//! libFuzzer over `quotekit_fuzz_targets::preview_change` (see crates/fuzz-targets).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| quotekit_fuzz_targets::preview_change(data));
