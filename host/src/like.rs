//! SQL `LIKE` matching as Camunda 7's `*Like` query filters do it, in time linear in the value.
//!
//! Camunda passes a `*Like` parameter to its database as `LIKE ? ESCAPE '\'`: `%` matches any
//! run of characters (also none), `_` exactly one character, and a backslash makes the next
//! character literal (`\%`, `\_`, `\\`). Every caller can send such a pattern, unauthenticated
//! by default, so the matcher must not backtrack: a naive recursive matcher takes exponential
//! time on `%a%a%a%a%a%a%a%a%a%ab` against a run of `a`s (one request once held a core for 20
//! minutes).
//!
//! The pattern is split at its unescaped `%` into segments of literal characters and `_`. The
//! first segment must match at the start of the value, the last at its end, and the ones in
//! between at their leftmost place after the previous one: taking the leftmost place is always
//! safe, because it leaves the most room for what follows. Each segment is searched with the
//! bit-parallel Shift-And automaton (which handles `_` as a class of every character), and the
//! searches of consecutive segments never go over the same characters twice, so one match costs
//! O(n · ⌈L/64⌉) for a value of n characters and a longest segment of L.

use std::collections::HashMap;

/// One pattern position: a literal character, or `_` (any one character).
type Position = Option<char>;

/// A compiled `LIKE` pattern; compile once, match many values.
#[derive(Debug, Clone)]
pub struct LikePattern {
    /// The segments between unescaped `%`s. With no `%` there is exactly one, which must match
    /// the whole value.
    segments: Vec<Segment>,
    ignore_case: bool,
}

#[derive(Debug, Clone)]
struct Segment {
    positions: Vec<Position>,
    /// Shift-And masks: bit i of a character's mask is set when position i accepts it.
    masks: HashMap<char, Vec<u64>>,
    /// Bits of the `_` positions, which accept every character.
    any: Vec<u64>,
}

impl Segment {
    fn new(positions: Vec<Position>) -> Segment {
        let words = positions.len().div_ceil(64).max(1);
        let mut masks: HashMap<char, Vec<u64>> = HashMap::new();
        let mut any = vec![0u64; words];
        for (i, p) in positions.iter().enumerate() {
            let (word, bit) = (i / 64, 1u64 << (i % 64));
            match p {
                Some(c) => masks.entry(*c).or_insert_with(|| vec![0u64; words])[word] |= bit,
                None => any[word] |= bit,
            }
        }
        Segment {
            positions,
            masks,
            any,
        }
    }

    fn len(&self) -> usize {
        self.positions.len()
    }

    /// Whether the segment matches `value` exactly at `at` (the caller checked the length).
    fn matches_at(&self, value: &[char], at: usize) -> bool {
        self.positions
            .iter()
            .zip(&value[at..at + self.len()])
            .all(|(p, c)| p.is_none_or(|p| p == *c))
    }

    /// The end of the leftmost match in `value[from..]`, if any (Shift-And).
    fn find_end(&self, value: &[char], from: usize) -> Option<usize> {
        let len = self.len();
        if len == 0 {
            return Some(from);
        }
        let words = self.any.len();
        let last_word = (len - 1) / 64;
        let last_bit = 1u64 << ((len - 1) % 64);
        let mut state = vec![0u64; words];
        for (i, c) in value.iter().enumerate().skip(from) {
            let mask = self.masks.get(c);
            // state = ((state << 1) | 1) & mask(c), across the words.
            let mut carry = 1u64;
            for (w, s) in state.iter_mut().enumerate() {
                let next_carry = *s >> 63;
                let m = mask.map_or(0, |m| m[w]) | self.any[w];
                *s = ((*s << 1) | carry) & m;
                carry = next_carry;
            }
            if state[last_word] & last_bit != 0 {
                return Some(i + 1);
            }
        }
        None
    }
}

impl LikePattern {
    /// Compile `pattern` (Camunda's `%`, `_` and `\` escapes). With `ignore_case`, the pattern
    /// and every value are compared lower-cased, as Camunda's `*LikeIgnoreCase`/
    /// `variableNamesIgnoreCase` do with SQL `lower()`.
    pub fn new(pattern: &str, ignore_case: bool) -> LikePattern {
        let lowered;
        let pattern = if ignore_case {
            lowered = pattern.to_lowercase();
            lowered.as_str()
        } else {
            pattern
        };
        let mut segments = Vec::new();
        let mut current = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            match c {
                '%' => segments.push(Segment::new(std::mem::take(&mut current))),
                '_' => current.push(None),
                // A trailing backslash escapes nothing and stands for itself.
                '\\' => current.push(Some(chars.next().unwrap_or('\\'))),
                c => current.push(Some(c)),
            }
        }
        segments.push(Segment::new(current));
        LikePattern {
            segments,
            ignore_case,
        }
    }

    /// The literal text every matching value starts with (before the first `%` or `_`), when
    /// there is one and case matters: an index on the value can then be read from that prefix
    /// on instead of from its start.
    pub fn literal_prefix(&self) -> Option<String> {
        if self.ignore_case {
            return None;
        }
        let prefix: String = self.segments[0]
            .positions
            .iter()
            .map_while(|p| *p)
            .collect();
        (!prefix.is_empty()).then_some(prefix)
    }

    /// Whether `value` matches the whole pattern.
    pub fn matches(&self, value: &str) -> bool {
        let value: Vec<char> = if self.ignore_case {
            value.to_lowercase().chars().collect()
        } else {
            value.chars().collect()
        };
        let n = value.len();
        let (first, rest) = match self.segments.split_first() {
            Some(split) => split,
            None => return n == 0,
        };
        let Some((last, middle)) = rest.split_last() else {
            // No `%`: one segment covering the whole value.
            return first.len() == n && first.matches_at(&value, 0);
        };
        if first.len() > n || !first.matches_at(&value, 0) {
            return false;
        }
        let mut at = first.len();
        for segment in middle {
            match segment.find_end(&value, at) {
                Some(end) => at = end,
                None => return false,
            }
        }
        // The last segment is anchored at the end and must not overlap what came before.
        n >= at + last.len() && last.matches_at(&value, n - last.len())
    }
}

/// One-off `LIKE` match (compiles the pattern; keep a [`LikePattern`] to match many values).
pub fn like(value: &str, pattern: &str) -> bool {
    LikePattern::new(pattern, false).matches(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The obvious backtracking matcher, as a reference on small inputs.
    fn reference(v: &[char], p: &[Position], star: &[bool]) -> bool {
        match (p.split_first(), star.split_first()) {
            (None, _) | (_, None) => v.is_empty(),
            (Some((_, p_rest)), Some((true, s_rest))) => {
                (0..=v.len()).any(|i| reference(&v[i..], p_rest, s_rest))
            }
            (Some((pos, p_rest)), Some((false, s_rest))) => {
                !v.is_empty() && pos.is_none_or(|c| c == v[0]) && reference(&v[1..], p_rest, s_rest)
            }
        }
    }

    fn reference_like(value: &str, pattern: &str) -> bool {
        let mut positions = Vec::new();
        let mut star = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            match c {
                '%' => {
                    positions.push(None);
                    star.push(true);
                }
                '_' => {
                    positions.push(None);
                    star.push(false);
                }
                '\\' => {
                    positions.push(Some(chars.next().unwrap_or('\\')));
                    star.push(false);
                }
                c => {
                    positions.push(Some(c));
                    star.push(false);
                }
            }
        }
        let v: Vec<char> = value.chars().collect();
        reference(&v, &positions, &star)
    }

    #[test]
    fn camunda_semantics() {
        assert!(like("hello", "h%o"));
        assert!(like("hello", "h_llo"));
        assert!(!like("hello", "h_lo"));
        assert!(like("", "%"));
        assert!(like("", ""));
        assert!(!like("a", ""));
        assert!(like("order-42", "order-%"));
        assert!(like("order-42", "%42"));
        assert!(like("order-42", "%der%"));
        assert!(!like("order-42", "%43"));
        assert!(like("abc", "%%%"));
        assert!(like("aXb", "a_b"));
        assert!(like("aaa", "%a%a%a%"));
        assert!(!like("aa", "%a%a%a%"));
        // The last segment must not reuse characters of the ones before it.
        assert!(!like("ab", "%ab%b"));
        assert!(like("abb", "%ab%b"));
    }

    #[test]
    fn escapes_are_literal() {
        assert!(like("100%", "100\\%"));
        assert!(!like("1000", "100\\%"));
        assert!(like("a_b", "a\\_b"));
        assert!(!like("aXb", "a\\_b"));
        assert!(like("a\\b", "a\\\\b"));
        assert!(like("a\\", "a\\"));
    }

    #[test]
    fn ignore_case_lowers_both_sides() {
        let p = LikePattern::new("ORDER-%", true);
        assert!(p.matches("order-1"));
        assert!(p.matches("Order-2"));
        assert!(!LikePattern::new("ORDER-%", false).matches("order-1"));
    }

    #[test]
    fn long_segments_span_several_words() {
        let long: String = (0..150)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let value = format!("xx{long}yy");
        assert!(like(&value, &format!("%{long}%")));
        let mut wild = long.clone().into_bytes();
        wild[70] = b'_';
        wild[129] = b'_';
        let wild = String::from_utf8(wild).unwrap_or_default();
        assert!(like(&value, &format!("xx{wild}%")));
        assert!(!like(&value, &format!("%{long}z%")));
    }

    #[test]
    fn agrees_with_the_backtracking_reference() {
        // Every value over {a, b} up to length 6 against every pattern over {a, b, %, _} up to
        // length 5: small enough for the reference, large enough to cover the corner cases.
        fn words(alphabet: &[char], max: usize) -> Vec<String> {
            let mut all = vec![String::new()];
            let mut frontier = vec![String::new()];
            for _ in 0..max {
                let mut next = Vec::new();
                for w in &frontier {
                    for c in alphabet {
                        next.push(format!("{w}{c}"));
                    }
                }
                all.extend(next.iter().cloned());
                frontier = next;
            }
            all
        }
        let values = words(&['a', 'b'], 6);
        let patterns = words(&['a', 'b', '%', '_'], 5);
        for p in &patterns {
            let compiled = LikePattern::new(p, false);
            for v in &values {
                assert_eq!(
                    compiled.matches(v),
                    reference_like(v, p),
                    "value {v:?} pattern {p:?}"
                );
            }
        }
    }

    #[test]
    fn pathological_pattern_is_fast() {
        // The pattern that took 54 s with 10 wildcards and never finished with 12, against
        // values far longer than the 41 characters of the report: with backtracking this would
        // not end; linear matching does 1,000 values in milliseconds (no timing asserted: the
        // test finishing at all is the point).
        let value = "a".repeat(10_000);
        let pattern = format!("{}b", "%a".repeat(12));
        let compiled = LikePattern::new(&pattern, false);
        for _ in 0..1_000 {
            assert!(!compiled.matches(&value));
        }
        assert!(compiled.matches(&format!("{value}b")));
    }
}
