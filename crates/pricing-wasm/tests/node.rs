//! The package under Node: `wasm-pack test --node`.

#![cfg(target_arch = "wasm32")]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use wasm_bindgen_test::wasm_bindgen_test;

mod common;

#[wasm_bindgen_test]
fn every_vector_passes_under_node() {
    common::every_vector_passes();
}

#[wasm_bindgen_test]
fn the_json_entry_points_match_the_engine_under_node() {
    common::the_json_entry_points_match_the_engine();
}

#[wasm_bindgen_test]
fn errors_are_error_instances_under_node() {
    common::errors_are_error_instances_with_code_path_and_message();
}

#[wasm_bindgen_test]
fn today_defaults_to_the_local_date_under_node() {
    common::today_defaults_to_the_local_calendar_date();
}

#[wasm_bindgen_test]
fn memory_stops_growing_when_pricing_repeatedly_under_node() {
    common::memory_stops_growing_when_pricing_repeatedly();
}
