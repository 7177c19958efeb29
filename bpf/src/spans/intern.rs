//! Texts that repeat from span to span (paths, addresses, "GET /route"
//! names) kept once for the life of the loader, so most spans need no
//! String of their own. A text is kept on its second sighting (a one-off
//! path or query never is), and only up to MAX_BYTES in all; past that,
//! texts are copied per span as before.

use std::borrow::Cow;
use std::hash::BuildHasher;

use rustc_hash::{FxBuildHasher, FxHashSet};

const MAX_BYTES: usize = 256 << 10;
const MAX_LEN: usize = 256;
const SEEN_SLOTS: usize = 4096;

pub struct Interner {
    kept: FxHashSet<&'static str>,
    bytes: usize,
    /// Hashes of texts seen once, a slot per hash.
    seen: Box<[u64]>,
}

impl Default for Interner {
    fn default() -> Interner {
        Interner { kept: FxHashSet::default(), bytes: 0, seen: vec![0; SEEN_SLOTS].into_boxed_slice() }
    }
}

impl Interner {
    /// `s` as a shared text when it has been seen before, else a copy.
    pub fn get(&mut self, s: &str) -> Cow<'static, str> {
        if let Some(k) = self.kept.get(s) {
            return Cow::Borrowed(k);
        }
        if s.len() > MAX_LEN || self.bytes + s.len() > MAX_BYTES {
            return Cow::Owned(s.to_string());
        }
        let h = FxBuildHasher.hash_one(s) | 1;
        let slot = &mut self.seen[(h as usize >> 7) % SEEN_SLOTS];
        if *slot != h {
            *slot = h;
            return Cow::Owned(s.to_string());
        }
        let k: &'static str = Box::leak(s.into());
        self.bytes += k.len();
        self.kept.insert(k);
        Cow::Borrowed(k)
    }

    /// Bytes kept so far.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_text_on_its_second_sighting_within_the_budget() {
        let mut i = Interner::default();
        assert!(matches!(i.get("/hello"), Cow::Owned(_)));
        let a = i.get("/hello");
        assert!(matches!(a, Cow::Borrowed(_)));
        assert_eq!(a, "/hello");
        assert!(matches!(i.get("/hello"), Cow::Borrowed(_)));
        assert_eq!(i.bytes(), 6);
        let long = "x".repeat(MAX_LEN + 1);
        i.get(&long);
        assert!(matches!(i.get(&long), Cow::Owned(_)));
        let mut n = 0;
        while i.bytes() + MAX_LEN <= MAX_BYTES {
            let t = format!("{n:0>250}");
            i.get(&t);
            assert_eq!(i.get(&t), t);
            n += 1;
        }
        let t = "y".repeat(MAX_LEN);
        i.get(&t);
        assert!(matches!(i.get(&t), Cow::Owned(_)), "past the budget");
        assert!(i.bytes() <= MAX_BYTES);
    }
}
