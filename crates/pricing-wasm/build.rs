//! Embeds every golden vector (shared, the project's own, and `vectors-next`) into the wasm
//! tests, which cannot read files in a browser. A new vector file counts on
//! the next build without code changes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let shared = std::env::var_os("QUOTEKIT_SHARED_VECTORS")
        .map_or_else(|| manifest.join("../../../shared/vectors"), PathBuf::from);
    let own = manifest.join("../../tests/vectors");
    let next = std::env::var_os("QUOTEKIT_SHARED_VECTORS_NEXT")
        .map_or_else(|| manifest.join("../../../shared/vectors-next"), PathBuf::from);
    let mut out = String::from(
        "/// Every golden vector: (folder, file name, text).\npub const VECTORS: &[(&str, &str, &str)] = &[\n",
    );
    for (label, dir) in [("shared", &shared), ("project", &own), ("next", &next)] {
        println!("cargo:rerun-if-changed={}", dir.display());
        for file in json_files(dir) {
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let _ = writeln!(out, "    ({label:?}, {name:?}, include_str!({:?})),", file.display().to_string());
        }
    }
    out.push_str("];\n");
    println!("cargo:rerun-if-env-changed=QUOTEKIT_SHARED_VECTORS");
    println!("cargo:rerun-if-env-changed=QUOTEKIT_SHARED_VECTORS_NEXT");
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("vectors.rs");
    if let Err(e) = std::fs::write(&dest, out) {
        println!("cargo:warning=cannot write {}: {e}", dest.display());
    }
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "json"));
    files.sort();
    files
}
