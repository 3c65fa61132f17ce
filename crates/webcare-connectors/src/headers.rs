//! Response headers without an HTTP crate: the worker passes whatever it has as name/value pairs.

/// Case-insensitive header lookup. Implemented for slices and vectors of `(&str, &str)` and
/// `(String, String)` pairs; the first header with a matching name wins.
pub trait HeaderSource {
    fn header(&self, name: &str) -> Option<&str>;
}

impl HeaderSource for [(&str, &str)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

impl HeaderSource for [(String, String)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl<const N: usize> HeaderSource for [(&str, &str); N] {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl HeaderSource for Vec<(&str, &str)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl HeaderSource for Vec<(String, String)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

#[cfg(test)]
mod tests {
    use super::HeaderSource;

    #[test]
    fn lookup_ignores_case() {
        let h = [("X-Rate-Limit-Reset", "17")];
        assert_eq!(h.header("x-rate-limit-reset"), Some("17"));
        assert_eq!(h.header("retry-after"), None);
        let owned = vec![("Retry-After".to_string(), "5".to_string())];
        assert_eq!(owned.header("retry-after"), Some("5"));
    }
}
