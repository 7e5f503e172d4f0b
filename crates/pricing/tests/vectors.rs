//! Every golden vector, read from the folders at test time: the shared set
//! (`../shared/vectors/`) and the project's own (`tests/vectors/`). A new file
//! counts without code changes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run_folder(dir: &Path) -> usize {
    run_files(dir, |_| true)
}

fn run_files(dir: &Path, keep: impl Fn(&str) -> bool) -> usize {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read the vectors folder {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(&keep))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no vectors in {}", dir.display());
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let case: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            golden::check(&case).err().map(|why| format!("{}: {why}", f.file_name().unwrap().to_string_lossy()))
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
// A build without the `metered` feature refuses metered catalogs, which vectors-next holds.
#[cfg(feature = "metered")]
fn every_next_vector_passes() {
    let dir = std::env::var_os("QUOTEKIT_SHARED_VECTORS_NEXT")
        .map_or_else(|| root().join("../shared/vectors-next"), PathBuf::from);
    let n = run_folder(&dir);
    eprintln!("{n} vectors-next pass");
}
