//! Prices a Sign-Up request against a catalog from the command line:
//!
//! ```text
//! cargo run -p quotekit-pricing --example quote -- CATALOG.json REQUEST.json TODAY
//! ```
//!
//! Prints the quote (or the engine's error) as JSON; exits 1 on an error.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [catalog, request, today] = args.as_slice() else {
        eprintln!("usage: quote CATALOG.json REQUEST.json TODAY(YYYY-MM-DD)");
        return ExitCode::from(2);
    };
    let read = |path: &str| -> Result<serde_json::Value, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))
    };
    let (catalog, request) = match (read(catalog), read(request)) {
        (Ok(c), Ok(r)) => (c, r),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let result = pricing::Catalog::from_json(&catalog)
        .and_then(|catalog| Ok((catalog, pricing::read_today(today)?)))
        .and_then(|(catalog, today)| pricing::estimate(&catalog, &request, today));
    match result {
        Ok(quote) => {
            println!("{}", pricing::to_json(&quote));
            ExitCode::SUCCESS
        }
        Err(error) => {
            println!("{}", pricing::to_json(&error));
            ExitCode::from(1)
        }
    }
}
