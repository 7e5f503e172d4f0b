//! Replays every committed fuzz input (`fuzz/corpus/<target>/` and the inputs
//! that once crashed, `fuzz/regressions/<target>/`) through its target: the
//! short version of `make fuzz` that `make test` runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::PathBuf;

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz").join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return vec![] };
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

#[test]
fn every_corpus_input_runs_clean() {
    for (target, run) in quotekit_fuzz_targets::TARGETS {
        let files = inputs("corpus", target);
        assert!(files.len() >= 10, "fuzz/corpus/{target} has {} inputs: the corpus is missing", files.len());
        for f in files {
            run(&std::fs::read(&f).unwrap());
        }
    }
}

#[test]
fn every_input_that_once_crashed_runs_clean() {
    for (target, run) in quotekit_fuzz_targets::TARGETS {
        for f in inputs("regressions", target) {
            run(&std::fs::read(&f).unwrap());
        }
    }
}

#[test]
fn the_checks_fail_on_a_broken_answer() {
    // The targets' invariants are real assertions: an invoice whose total is
    // not its lines' sum must trip them.
    let catalog = br#"{"currency":"USD","products":[{"id":"p","minQuantity":1}],"offerings":[{"id":"o","productIds":["p"],"rates":[{"id":"r","billingFrequency":"MONTHLY","billingTiming":"IN_ADVANCE","prices":[{"productId":"p","model":"PER_UNIT","unitAmount":"1"}]}]}]}"#;
    let input = format!(
        r#"{{"catalog":{},"request":{{"quote":{{"startDate":"2026-01-15","offerings":[{{"offeringId":"o","rateId":"r"}}]}}}},"today":"2026-01-15"}}"#,
        std::str::from_utf8(catalog).unwrap()
    );
    quotekit_fuzz_targets::estimate(input.as_bytes()); // a valid input passes
    let broken = std::panic::catch_unwind(quotekit_fuzz_targets::check_sums_for_test);
    assert!(broken.is_err(), "a wrong total must fail the check");
}
