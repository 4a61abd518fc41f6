//! Host allow-list entries, shared by the HTML policies and the URL policy.

use crate::ConfigError;

/// One allowed host: an exact name (`example.com`), every subdomain of a name
/// (`*.example.com`, which does not match `example.com` itself), or an IP literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostPattern {
    Exact(String),
    Subdomains(String),
}

impl HostPattern {
    /// Parses every pattern, for the `allow_hosts` methods.
    pub(crate) fn parse_all<'b>(
        patterns: impl IntoIterator<Item = &'b str>,
    ) -> Result<Vec<Self>, ConfigError> {
        patterns.into_iter().map(Self::parse).collect()
    }

    /// Parses a pattern; names are normalized as URLs normalize hosts (lowercase, IDNA
    /// punycode, IPv4 in dotted decimal), so a pattern matches `Url::host_str` exactly.
    pub(crate) fn parse(pattern: &str) -> Result<Self, ConfigError> {
        let invalid = || ConfigError::InvalidName {
            what: "host",
            name: pattern.to_owned(),
            expected: "a host name, `*.` followed by a host name, or an IP address",
        };
        let (wildcard, name) = match pattern.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, pattern),
        };
        if name.is_empty() || name.contains(['*', '/', '@', ':', ' ']) && !name.starts_with('[') {
            return Err(invalid());
        }
        let host = url::Host::parse(name).map_err(|_| invalid())?;
        let normalized = match host {
            url::Host::Domain(d) => d,
            url::Host::Ipv4(ip) if !wildcard => ip.to_string(),
            url::Host::Ipv6(ip) if !wildcard => format!("[{ip}]"),
            _ => return Err(invalid()),
        };
        Ok(if wildcard {
            Self::Subdomains(normalized)
        } else {
            Self::Exact(normalized)
        })
    }

    /// Whether `host` (as `Url::host_str` gives it) matches.
    pub(crate) fn matches(&self, host: &str) -> bool {
        let host = host.strip_suffix('.').unwrap_or(host);
        match self {
            Self::Exact(name) => host == name,
            Self::Subdomains(name) => host
                .strip_suffix(name.as_str())
                .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.')),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::HostPattern;

    #[test]
    fn patterns() {
        let exact = HostPattern::parse("Example.COM").unwrap();
        assert!(exact.matches("example.com"));
        assert!(exact.matches("example.com."));
        assert!(!exact.matches("www.example.com"));
        let sub = HostPattern::parse("*.example.com").unwrap();
        assert!(sub.matches("a.b.example.com"));
        assert!(!sub.matches("example.com"));
        assert!(!sub.matches("badexample.com"));
        let idn = HostPattern::parse("bücher.example").unwrap();
        assert!(idn.matches("xn--bcher-kva.example"));
        assert!(HostPattern::parse("0x7f.1").unwrap().matches("127.0.0.1"));
        for bad in ["", "*.", "a/b", "u@h", "*.*.x", "*.127.0.0.1"] {
            assert!(HostPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
