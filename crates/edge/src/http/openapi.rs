//! The OpenAPI 3.1 document served at `/openapi.json`.

/// The document text (`crates/edge/openapi.json`).
pub const DOCUMENT: &str = include_str!("../../openapi.json");
