//! What was found: the kinds of secret and personal data palisade-redact detects.

use core::fmt;

/// A kind of finding. Names are stable: they appear in reports, labels and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Kind {
    /// The value of a sensitive key (`password=…`, `"token": "…"`, `Authorization: …`).
    KeyValue,
    /// A random-looking value of a key named like a secret that is not one of the sensitive
    /// names (`stripe_key=…`, `"signingKey": "…"`, `--auth-token …`): high Shannon entropy for
    /// its alphabet and no placeholder.
    GenericSecret,
    /// AWS access key id (`AKIA…`, `ASIA…`).
    AwsAccessKeyId,
    /// GitHub token (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` with a valid CRC32 checksum, or
    /// `github_pat_`).
    GitHubToken,
    /// GitLab token (`glpat-`, `glptt-`, `gldt-`, `glrt-`, `gloas-`, `glcbt-`, `glffct-`, `glft-`,
    /// `glimt-`, `glagent-`, `glsoat-`, runner registration `GR1348941`) at its published
    /// length.
    GitLabToken,
    /// Slack token (`xoxb-`, `xoxp-`, `xapp-`, …) or webhook path (incoming, workflow, trigger).
    SlackToken,
    /// Stripe secret or restricted key (`sk_live_`, `rk_test_`, …).
    StripeKey,
    /// Google API key (`AIza…`).
    GoogleApiKey,
    /// SendGrid API key (`SG.….…`).
    SendGridKey,
    /// npm token (`npm_` with a valid CRC32 checksum).
    NpmToken,
    /// PyPI or Test PyPI upload token (`pypi-AgEIcHlwaS5vcmc…`, `pypi-AgENdGVzdC5weXBpLm9yZw…`).
    PyPiToken,
    /// JSON Web Token whose header and payload decode to JSON objects (an unsigned one
    /// without its trailing dot when its header names an `alg`).
    Jwt,
    /// The credential after `Bearer`.
    BearerToken,
    /// The credential after `Basic`, when it decodes to `user:password`, or the password of a
    /// command line's `-u user:password` / `--user user:password`.
    BasicAuth,
    /// The password in a URL's user information (`scheme://user:password@host`).
    UrlPassword,
    /// A private key: a PEM block from `-----BEGIN … PRIVATE KEY-----` (or PGP's
    /// `PGP PRIVATE KEY BLOCK`) to its `END` line, or an age secret key.
    PrivateKey,
    /// A payment card number (Luhn checksum and a card network's IIN and length).
    CardNumber,
    /// A palisade opaque token (`pal?_` + 43 base62 characters + base62 CRC32), or one with a
    /// prefix registered with [`RedactorBuilder::opaque_token_prefix`](crate::RedactorBuilder).
    OpaqueToken,
    /// An email address (PII, off by default).
    Email,
    /// A phone number in international form (PII, off by default).
    Phone,
    /// An IBAN with a valid mod-97 checksum (PII, off by default).
    Iban,
    /// A credential of a provider family in the built-in table (`OpenAI`, `DigitalOcean`,
    /// Shopify, …); [`Finding::rule`](crate::Finding::rule) names the family. The crate
    /// documentation lists every family.
    ProviderToken,
    /// A rule added with [`RedactorBuilder::rule`](crate::RedactorBuilder::rule).
    Custom,
    /// A value registered in the [`KnownSecrets`](crate::KnownSecrets) given to
    /// [`RedactorBuilder::known_secrets`](crate::RedactorBuilder::known_secrets): the exact
    /// bytes of a secret the application loaded.
    KnownSecret,
}

impl Kind {
    /// Every kind the built-in detectors report.
    pub const BUILT_IN: [Self; 22] = [
        Self::KeyValue,
        Self::GenericSecret,
        Self::AwsAccessKeyId,
        Self::GitHubToken,
        Self::GitLabToken,
        Self::SlackToken,
        Self::StripeKey,
        Self::GoogleApiKey,
        Self::SendGridKey,
        Self::NpmToken,
        Self::PyPiToken,
        Self::Jwt,
        Self::BearerToken,
        Self::BasicAuth,
        Self::UrlPassword,
        Self::PrivateKey,
        Self::CardNumber,
        Self::OpaqueToken,
        Self::Email,
        Self::Phone,
        Self::Iban,
        Self::ProviderToken,
    ];

    /// A short stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::KeyValue => "key_value",
            Self::GenericSecret => "generic_secret",
            Self::AwsAccessKeyId => "aws_access_key_id",
            Self::GitHubToken => "github_token",
            Self::GitLabToken => "gitlab_token",
            Self::SlackToken => "slack_token",
            Self::StripeKey => "stripe_key",
            Self::GoogleApiKey => "google_api_key",
            Self::SendGridKey => "sendgrid_key",
            Self::NpmToken => "npm_token",
            Self::PyPiToken => "pypi_token",
            Self::Jwt => "jwt",
            Self::BearerToken => "bearer_token",
            Self::BasicAuth => "basic_auth",
            Self::UrlPassword => "url_password",
            Self::PrivateKey => "private_key",
            Self::CardNumber => "card_number",
            Self::OpaqueToken => "opaque_token",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Iban => "iban",
            Self::ProviderToken => "provider_token",
            Self::Custom => "custom",
            Self::KnownSecret => "known_secret",
        }
    }

    /// Whether the kind is personal data, detected only when enabled.
    pub const fn is_pii(self) -> bool {
        matches!(self, Self::Email | Self::Phone | Self::Iban)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
