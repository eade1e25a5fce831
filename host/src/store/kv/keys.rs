//! Key encoders. Numbers are big-endian and sign-biased so that lexicographic key order is
//! numeric order; string components are followed by a 0x00 separator (ids and names never
//! contain NUL: the API rejects it), so a prefix scan over `a\0` never matches `ab\0`.

/// An i64 as 8 bytes whose byte order equals numeric order.
pub fn ord_i64(n: i64) -> [u8; 8] {
    ((n as u64) ^ (1u64 << 63)).to_be_bytes()
}

/// Decode [`ord_i64`].
pub fn from_ord_i64(b: &[u8]) -> Option<i64> {
    let arr: [u8; 8] = b.get(..8)?.try_into().ok()?;
    Some((u64::from_be_bytes(arr) ^ (1u64 << 63)) as i64)
}

/// A key builder: `Key::new().str("topic").i64(5).str(id).build()`.
#[derive(Debug, Default, Clone)]
pub struct Key(Vec<u8>);

impl Key {
    /// An empty key.
    pub fn new() -> Key {
        Key(Vec::with_capacity(64))
    }

    /// Append a string component and its separator.
    pub fn str(mut self, s: &str) -> Key {
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
        self
    }

    /// Append an order-preserving i64.
    pub fn i64(mut self, n: i64) -> Key {
        self.0.extend_from_slice(&ord_i64(n));
        self
    }

    /// Append an order-preserving i64 in descending order.
    pub fn i64_desc(mut self, n: i64) -> Key {
        let asc = ord_i64(n);
        self.0.extend(asc.iter().map(|b| !b));
        self
    }

    /// Append a big-endian u64.
    pub fn u64(mut self, n: u64) -> Key {
        self.0.extend_from_slice(&n.to_be_bytes());
        self
    }

    /// The bytes.
    pub fn build(self) -> Vec<u8> {
        self.0
    }
}

/// The last string component of a key made only of string components (`a\0b\0`): used to
/// read an id back out of an index key. Keys with integer components need a layout-aware
/// decoder instead (their big-endian bytes can contain 0x00).
pub fn last_str(key: &[u8]) -> Option<String> {
    let body = key.strip_suffix(&[0])?;
    let start = body
        .iter()
        .rposition(|&b| b == 0)
        .map(|p| p + 1)
        .unwrap_or(0);
    String::from_utf8(body[start..].to_vec()).ok()
}

/// An index key made only of string components split into its head (every component but the
/// last, separators included, as written) and its last component: `bk\0id\0` → (`bk`, `id`).
pub fn split_last_str(key: &[u8]) -> Option<(&[u8], &str)> {
    let body = key.strip_suffix(&[0])?;
    let at = body.iter().rposition(|&b| b == 0)?;
    Some((&body[..at], std::str::from_utf8(&body[at + 1..]).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_integers_sort_like_numbers() {
        let mut v = vec![5i64, -3, 0, i64::MIN, i64::MAX, 42];
        let mut enc: Vec<[u8; 8]> = v.iter().map(|&n| ord_i64(n)).collect();
        enc.sort();
        v.sort();
        let dec: Vec<i64> = enc.iter().filter_map(|b| from_ord_i64(b)).collect();
        assert_eq!(dec, v);
    }

    #[test]
    fn descending_component_reverses_order() {
        let a = Key::new().i64_desc(10).build();
        let b = Key::new().i64_desc(3).build();
        assert!(a < b);
    }

    #[test]
    fn last_component_is_recovered() {
        let k = Key::new().str("instance-1").str("task-1").build();
        assert_eq!(last_str(&k).as_deref(), Some("task-1"));
        assert_eq!(
            split_last_str(&k),
            Some((b"instance-1".as_slice(), "task-1"))
        );
    }
}
