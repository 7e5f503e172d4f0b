//! The vendor's own reference for an account (`customId`), compared as a
//! person would: case-insensitive and Unicode-normalised, so `ACME`, `acme`
//! and full-width `ＡＣＭＥ` name one account. The key is unique and looked up;
//! the spelling given is kept for display.

/// The comparison key of a `customId`: NFKC, then lower case, then NFKC again
/// (lowering can un-normalise a few characters).
#[must_use]
pub fn key(custom_id: &str) -> String {
    let nfkc = icu_normalizer::ComposingNormalizerBorrowed::new_nfkc();
    nfkc.normalize(&nfkc.normalize(custom_id).to_lowercase()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::key;

    #[test]
    fn case_width_and_compatibility_forms_are_one_key() {
        assert_eq!(key("ACME"), "acme");
        assert_eq!(key("ＡＣＭＥ"), "acme");
        assert_eq!(key("Acme-№1"), "acme-no1");
        assert_eq!(key("Zoë"), key("Zoe\u{308}"), "composed or not");
        assert_ne!(key("acme"), key("acme "));
    }
}
