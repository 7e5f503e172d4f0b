//! Every golden vector, read from the folders at test time: the shared set
//! (`../shared/vectors/`) and the project's own (`tests/vectors/`). A new file
//! counts without code changes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::path::{Path, PathBuf};

use pricing::{Catalog, preview_change, read_today, to_json};
use rust_decimal::Decimal;
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn vector_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read the vectors folder {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

/// Runs one case: `Ok` when the engine's answer matches `expected`.
fn run_case(case: &Value) -> Result<(), String> {
    let today = case["today"].as_str().ok_or("the case has no today")?;
    let expected = &case["expected"];
    let outcome: Result<Value, pricing::Error> = (|| {
        let catalog = Catalog::from_json(&case["catalog"])?;
        let today = read_today(today)?;
        if let Some(op) = case.get("operation").filter(|o| !o.is_null()) {
            let preview = preview_change(&catalog, &case["contract"], op, today)?;
            Ok(serde_json::json!({ "change": serde_json::from_str::<Value>(&to_json(&preview)).unwrap() }))
        } else {
            let quote = pricing::estimate(&catalog, &case["request"], today)?;
            Ok(serde_json::json!({ "quote": serde_json::from_str::<Value>(&to_json(&quote)).unwrap() }))
        }
    })();
    let actual = match outcome {
        Ok(v) => v,
        Err(e) => serde_json::json!({ "error": { "code": e.code.as_str(), "path": e.path, "message": e.message } }),
    };
    matches(expected, &actual, "expected").map_err(|why| format!("{why}\n  actual: {actual}"))
}

/// Every field present in `expected` must match `actual`; numbers compare as decimals.
fn matches(expected: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e.iter().try_for_each(|(k, ev)| {
            let av = a.get(k).ok_or_else(|| format!("{path}.{k}: missing"))?;
            matches(ev, av, &format!("{path}.{k}"))
        }),
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!("{path}: {} elements expected, {} found", e.len(), a.len()));
            }
            e.iter().zip(a).enumerate().try_for_each(|(i, (ev, av))| matches(ev, av, &format!("{path}[{i}]")))
        }
        (Value::Number(e), Value::Number(a)) => {
            let (e, a) = (decimal(e), decimal(a));
            if e == a { Ok(()) } else { Err(format!("{path}: expected {e}, found {a}")) }
        }
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path}: expected {e}, found {a}")),
    }
}

fn decimal(n: &serde_json::Number) -> Decimal {
    pricing::parse_decimal(n.as_str()).unwrap()
}

fn run_folder(dir: &Path) -> usize {
    let files = vector_files(dir);
    assert!(!files.is_empty(), "no vectors in {}", dir.display());
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let case: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            run_case(&case).err().map(|why| format!("{}: {why}", f.file_name().unwrap().to_string_lossy()))
        })
        .collect();
    assert!(failures.is_empty(), "{} of {} vectors fail:\n{}", failures.len(), files.len(), failures.join("\n"));
    files.len()
}

#[test]
fn every_shared_vector_passes() {
    let dir =
        std::env::var_os("QUOTEKIT_SHARED_VECTORS").map_or_else(|| root().join("../shared/vectors"), PathBuf::from);
    let n = run_folder(&dir);
    eprintln!("{n} shared vectors pass");
}

#[test]
fn every_project_vector_passes() {
    let n = run_folder(&root().join("tests/vectors"));
    eprintln!("{n} project vectors pass");
}

#[test]
fn the_comparison_rejects_a_wrong_amount() {
    let expected = serde_json::json!({ "amount": 65.81, "lines": [ { "a": "x" } ] });
    assert!(
        matches(&expected, &serde_json::json!({ "amount": 65.810, "lines": [ { "a": "x", "b": 1 } ] }), "").is_ok()
    );
    assert!(matches(&expected, &serde_json::json!({ "amount": 65.8, "lines": [ { "a": "x" } ] }), "").is_err());
    assert!(matches(&expected, &serde_json::json!({ "amount": 65.81, "lines": [] }), "").is_err());
    assert!(matches(&expected, &serde_json::json!({ "lines": [ { "a": "x" } ] }), "").is_err());
}
