//! Every shared vector with a Sign-Up request, through the API: the catalog
//! published with `PUT /api/catalog`, the request sent as `ESTIMATE`, the
//! answer compared with `expected` like every other layer does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

mod support;

use serde_json::{Value, json};
use support::{Call, app, now};

fn cases() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for dir in ["../../../shared/vectors", "../../tests/vectors", "../../../shared/vectors-next"] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files.into_iter().filter(|f| f.extension().is_some_and(|e| e == "json")) {
            let case: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
            out.push((f.file_name().unwrap().to_string_lossy().into_owned(), case));
        }
    }
    out
}

#[test]
fn every_quote_vector_through_the_api() {
    let mut ran = 0;
    let all = cases();
    let quotes =
        all.iter().filter(|(_, c)| c.get("operation").is_none_or(Value::is_null) && c.get("through").is_none()).count();
    for (name, case) in all {
        if case.get("operation").is_some_and(|o| !o.is_null()) || case.get("through").is_some() {
            continue; // contract changes (the contract runner) and billing cases (the billing tests)
        }
        let a = app();
        let c = Call { app: &a, now: now(case["today"].as_str().unwrap()) };
        let expected = &case["expected"];
        let (status, published) = c.publish(&case["catalog"]);
        if status != 201 {
            let e = &expected["error"];
            assert_eq!(
                (status, published["code"].as_str(), published["path"].as_str()),
                (400, e["code"].as_str(), e["path"].as_str()),
                "{name}: catalog"
            );
            ran += 1;
            continue;
        }
        let mut request = case["request"].clone();
        if let Value::Object(m) = &mut request {
            m.insert("action".into(), json!("ESTIMATE"));
        }
        // A coupon is the vendor's to give: quote.couponId needs the secret key.
        let key = if request.pointer("/quote/couponId").is_some() { support::SECRET } else { support::PUBLISHABLE };
        let r = c.send("POST", "/api/selfService/signup", Some(key), Some(request.to_string()), &[]);
        let body: Value = serde_json::from_str(&r.body).unwrap();
        let actual = if r.status == 200 {
            json!({ "quote": body["quote"] })
        } else {
            json!({ "error": { "code": body["code"], "path": body["path"] } })
        };
        if let Err(diff) = golden::matches(expected, &actual) {
            panic!("{name}: {diff}\nanswer: {}", r.body);
        }
        ran += 1;
    }
    assert!(quotes > 50, "the vector folders were not found");
    assert_eq!(ran, quotes);
}
