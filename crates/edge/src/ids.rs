//! Identifiers: a prefix and 128 random bits in base62 (22 characters), so
//! ids are unguessable and carry no sequence.

/// A source of cryptographically secure random bytes (Web Crypto in the
/// Worker, the OS natively).
pub trait Random {
    /// Fills `buf`.
    fn fill(&self, buf: &mut [u8]);
}

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `prefix` + 22 base62 characters of 128 random bits.
pub fn new_id(rng: &impl Random, prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes);
    let mut n = u128::from_le_bytes(bytes);
    let mut out = String::with_capacity(prefix.len().saturating_add(22));
    out.push_str(prefix);
    for _ in 0..22 {
        let digit = usize::try_from(n % 62).unwrap_or(0);
        n /= 62;
        out.push(char::from(ALPHABET.get(digit).copied().unwrap_or(b'0')));
    }
    out
}

/// The operating system's generator (native builds and tests).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Clone, Copy, Debug, Default)]
pub struct OsRandom;

#[cfg(not(target_arch = "wasm32"))]
impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        // The OS generator does not fail on supported platforms; if it ever
        // did, zeros would make ids collide, which the primary keys refuse.
        if getrandom::fill(buf).is_err() {
            buf.fill(0);
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_22_base62_characters_after_the_prefix_and_distinct() {
        let mut seen = HashSet::new();
        for _ in 0..10_000 {
            let id = new_id(&OsRandom, "cart_");
            assert_eq!(id.len(), 27);
            assert!(id[5..].bytes().all(|b| b.is_ascii_alphanumeric()));
            assert!(seen.insert(id));
        }
    }

    /// A million ids: no two alike; every character position spread evenly
    /// over the alphabet (the first 20: the last two hold the top bits of 128,
    /// which 62²² exceeds, so they are not uniform); and
    /// no sequence: consecutive ids share a 3-character start no more often
    /// than chance (1 in 62³).
    #[test]
    #[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::cast_precision_loss)]
    fn a_million_ids_have_no_duplicate_no_bias_and_no_sequence() {
        const N: usize = 1_000_000;
        let mut seen = HashSet::with_capacity(N);
        let mut counts = vec![[0u32; 128]; 20];
        let mut shared_starts = 0;
        let mut previous = String::new();
        for _ in 0..N {
            let id = new_id(&OsRandom, "");
            for (pos, b) in id.bytes().take(20).enumerate() {
                counts[pos][usize::from(b)] += 1;
            }
            if id[..3] == previous[..previous.len().min(3)] {
                shared_starts += 1;
            }
            previous.clone_from(&id);
            assert!(seen.insert(id), "a duplicate id");
        }
        let expected = N as f64 / 62.0;
        for (pos, c) in counts.iter().enumerate() {
            for &b in ALPHABET {
                let n = f64::from(c[usize::from(b)]);
                assert!((n - expected).abs() < expected * 0.1, "position {pos}: {} appears {n} times", b as char);
            }
        }
        assert!(shared_starts < 50, "{shared_starts} consecutive ids share their first 3 characters (chance: ~4)");
    }
}
