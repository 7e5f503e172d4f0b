//! The package in a real browser: `wasm-pack test --headless --chrome`.

#![cfg(target_arch = "wasm32")]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

mod common;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn every_vector_passes_in_the_browser() {
    common::every_vector_passes();
}

#[wasm_bindgen_test]
fn the_json_entry_points_match_the_engine_in_the_browser() {
    common::the_json_entry_points_match_the_engine();
}

#[wasm_bindgen_test]
fn errors_are_error_instances_in_the_browser() {
    common::errors_are_error_instances_with_code_path_and_message();
}

#[wasm_bindgen_test]
fn today_defaults_to_the_local_date_in_the_browser() {
    common::today_defaults_to_the_local_calendar_date();
}

#[wasm_bindgen_test]
fn memory_stops_growing_when_pricing_repeatedly_in_the_browser() {
    common::memory_stops_growing_when_pricing_repeatedly();
}
