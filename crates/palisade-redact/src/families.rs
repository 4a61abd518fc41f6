//! Provider credential families: one row per token format a provider documents, found by its
//! prefix (an anchor of the same search as every other detector) and confirmed by alphabet,
//! published length, word boundaries, a checksum where the format has one, and a placeholder
//! and entropy check of its random part.
//!
//! The table is data: [`FAMILIES`]. Formats whose prefix is not at the token's start
//! (OpenAI's `T3BlbkFJ` marker, Telegram's `:AA`) or that need more than a sequence of runs
//! have a hand-written confirmation.

use core::ops::Range;

use crate::{
    checks,
    detect::{ends_token, run_len, starts_token},
    kind::Kind,
};

/// An alphabet a run of a token is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum C {
    /// `0-9a-f`.
    Hex,
    /// `0-9a-fA-F`.
    HexAny,
    /// `0-9A-Za-z`.
    Alnum,
    /// `0-9A-Z`.
    Upper,
    /// `0-9a-z`.
    Lower,
    /// `A-Za-z`.
    Letters,
    /// `0-9`.
    Digits,
    /// `0-9A-Za-z_-`.
    B64Url,
    /// `0-9A-Za-z+/` and `=` padding.
    B64,
    /// base64url and `.`.
    B64UrlDot,
    /// base64url, `.` and `=`.
    Tok,
    /// base64, `=` and `_` (base64 segments joined by `_`).
    B64Joined,
    /// base64url and `=`.
    B64UrlEq,
    /// `_` or `-`.
    Sep,
    /// `0-9A-Za-z-`.
    AlnumDash,
    /// `0-9A-Za-z+/_=-`: both base64 alphabets and padding.
    B64Any,
    /// `0-9a-hA-H` (Mailgun's signing keys).
    HexH,
    /// `|` or `%` (the separator of Meta's app access tokens, raw or URL-encoded).
    Pipe,
}

impl C {
    pub(crate) fn test(self, b: u8) -> bool {
        match self {
            Self::Hex => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
            Self::HexAny => b.is_ascii_hexdigit(),
            Self::Alnum => b.is_ascii_alphanumeric(),
            Self::Upper => b.is_ascii_digit() || b.is_ascii_uppercase(),
            Self::Lower => b.is_ascii_digit() || b.is_ascii_lowercase(),
            Self::Letters => b.is_ascii_alphabetic(),
            Self::Digits => b.is_ascii_digit(),
            Self::B64Url => b.is_ascii_alphanumeric() || b == b'_' || b == b'-',
            Self::B64 => b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=',
            Self::B64UrlDot => b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'),
            Self::Tok => b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'='),
            Self::B64Joined => b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'_'),
            Self::B64UrlEq => b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'='),
            Self::Sep => b == b'_' || b == b'-',
            Self::AlnumDash => b.is_ascii_alphanumeric() || b == b'-',
            Self::B64Any => {
                b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'_' | b'=' | b'-')
            }
            Self::HexH => b.is_ascii_digit() || (b'a'..=b'h').contains(&b.to_ascii_lowercase()),
            Self::Pipe => b == b'|' || b == b'%',
        }
    }
}

/// One part of a token after its prefix.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Seg {
    /// A run of `min..=max` characters of an alphabet.
    R(C, usize, usize),
    /// A literal.
    L(&'static str),
}

/// How a family's token is confirmed.
#[derive(Clone, Copy)]
pub(crate) enum Shape {
    /// The prefix starts a word, then these parts, then the word ends.
    Seq(&'static [Seg]),
    /// A hand-written confirmation, given the text and the anchor's range.
    Custom(fn(&[u8], Range<usize>) -> Option<Range<usize>>),
}

impl core::fmt::Debug for Shape {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Seq(segs) => f.debug_tuple("Seq").field(segs).finish(),
            Self::Custom(_) => f.write_str("Custom"),
        }
    }
}

/// A provider's credential format.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Family {
    /// Stable id, reported as [`Finding::rule`](crate::Finding).
    pub(crate) id: &'static str,
    /// Who issues it.
    pub(crate) provider: &'static str,
    /// The anchor literals; each starts the token unless the shape is custom.
    pub(crate) prefixes: &'static [&'static str],
    pub(crate) shape: Shape,
    /// What is reported.
    pub(crate) kind: Kind,
    /// Whether a checksum in the token confirms it.
    pub(crate) checksum: bool,
}

/// A provider credential family the built-in detectors recognise: see the crate
/// documentation's table for each one's format and source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProviderFamily {
    /// The stable id reported in [`Finding::rule`](crate::Finding::rule).
    pub id: &'static str,
    /// Who issues the credential.
    pub provider: &'static str,
    /// The literals its tokens start with (or, for a few formats, contain).
    pub prefixes: &'static [&'static str],
    /// What its findings are reported as.
    pub kind: Kind,
    /// Whether a checksum in the token confirms it, beyond prefix, alphabet and length.
    pub checksum: bool,
}

/// Every built-in provider family.
///
/// ```
/// let ids: Vec<&str> = palisade_redact::provider_families().map(|f| f.id).collect();
/// assert!(ids.contains(&"openai_api_key") && ids.contains(&"grafana_service_account_token"));
/// ```
pub fn provider_families() -> impl Iterator<Item = ProviderFamily> {
    FAMILIES.iter().map(|f| ProviderFamily {
        id: f.id,
        provider: f.provider,
        prefixes: f.prefixes,
        kind: f.kind,
        checksum: f.checksum,
    })
}

use C::{
    Alnum, AlnumDash, B64, B64Any, B64Joined, B64Url, B64UrlDot, B64UrlEq, Digits, Hex, HexAny,
    Letters, Lower, Sep, Tok, Upper,
};
use Seg::{L, R};

/// A UUID in its 8-4-4-4-12 hex form (either case): some providers' whole token, and the
/// value of several provider-keyword rules.
pub(crate) const UUID: &[Seg] = &[
    R(HexAny, 8, 8),
    L("-"),
    R(HexAny, 4, 4),
    L("-"),
    R(HexAny, 4, 4),
    L("-"),
    R(HexAny, 4, 4),
    L("-"),
    R(HexAny, 12, 12),
];

const fn f(
    id: &'static str,
    provider: &'static str,
    prefixes: &'static [&'static str],
    shape: Shape,
) -> Family {
    Family {
        id,
        provider,
        prefixes,
        shape,
        kind: Kind::ProviderToken,
        checksum: false,
    }
}

/// Every built-in provider family. The crate documentation's table lists each with the
/// provider documentation its format comes from; `tests/families.rs` checks that both agree.
pub(crate) const FAMILIES: &[Family] = &[
    // Cloud providers and infrastructure.
    f(
        "google_oauth_client_secret",
        "Google Cloud",
        &["GOCSPX-"],
        Shape::Seq(&[R(B64Url, 28, 28)]),
    ),
    f(
        "google_oauth_access_token",
        "Google Cloud",
        &["ya29."],
        Shape::Seq(&[R(B64Url, 50, 4096)]),
    ),
    f(
        "azure_ad_client_secret",
        "Microsoft Entra ID",
        &["7Q~", "8Q~"],
        Shape::Custom(azure_secret),
    ),
    f(
        "digitalocean_token",
        "DigitalOcean",
        &["dop_v1_", "doo_v1_", "dor_v1_"],
        Shape::Seq(&[R(Hex, 64, 64)]),
    ),
    f(
        "alibaba_access_key_id",
        "Alibaba Cloud",
        &["LTAI"],
        Shape::Seq(&[R(Alnum, 12, 20)]),
    ),
    f(
        "heroku_api_key",
        "Heroku",
        &["HRKU-AA"],
        Shape::Seq(&[R(B64Url, 58, 58)]),
    ),
    f(
        "flyio_token",
        "Fly.io",
        &["fo1_"],
        Shape::Seq(&[R(B64Url, 43, 43)]),
    ),
    f(
        "flyio_macaroon",
        "Fly.io",
        &["fm1r_", "fm1a_", "fm2_"],
        Shape::Seq(&[R(B64, 100, 8192)]),
    ),
    f(
        "cloudflare_origin_ca_key",
        "Cloudflare",
        &["v1.0-"],
        Shape::Seq(&[R(Hex, 24, 24), L("-"), R(Hex, 146, 146)]),
    ),
    f(
        "vault_service_token",
        "HashiCorp Vault",
        &["hvs."],
        Shape::Seq(&[R(B64Url, 24, 512)]),
    ),
    f(
        "vault_batch_token",
        "HashiCorp Vault",
        &["hvb."],
        Shape::Seq(&[R(B64Url, 100, 1024)]),
    ),
    f(
        "terraform_cloud_token",
        "HashiCorp Terraform Cloud",
        &[".atlasv1."],
        Shape::Custom(terraform),
    ),
    f(
        "pulumi_token",
        "Pulumi",
        &["pul-"],
        Shape::Seq(&[R(Hex, 40, 40)]),
    ),
    f(
        "doppler_token",
        "Doppler",
        &["dp.pt.", "dp.ct.", "dp.sa.", "dp.scim.", "dp.audit."],
        Shape::Seq(&[R(Alnum, 40, 44)]),
    ),
    f(
        "tailscale_key",
        "Tailscale",
        &["tskey-"],
        Shape::Seq(&[
            R(Letters, 3, 8),
            L("-"),
            R(Alnum, 6, 24),
            L("-"),
            R(Alnum, 20, 64),
        ]),
    ),
    f(
        "scalingo_token",
        "Scalingo",
        &["tk-us-"],
        Shape::Seq(&[R(B64Url, 48, 48)]),
    ),
    f(
        "infracost_api_key",
        "Infracost",
        &["ico-"],
        Shape::Seq(&[R(Alnum, 32, 32)]),
    ),
    // Source hosting, CI/CD and developer tools.
    f(
        "atlassian_api_token",
        "Atlassian",
        &["ATATT3", "ATCTT3"],
        Shape::Seq(&[R(Tok, 180, 200)]),
    ),
    f(
        "bitbucket_app_password",
        "Bitbucket",
        &["ATBB"],
        Shape::Seq(&[R(Alnum, 28, 36)]),
    ),
    f(
        "circleci_token",
        "CircleCI",
        &["CCIPAT_"],
        Shape::Seq(&[R(Alnum, 22, 22), L("_"), R(Hex, 40, 40)]),
    ),
    f(
        "buildkite_token",
        "Buildkite",
        &["bkua_"],
        Shape::Seq(&[R(Hex, 40, 40)]),
    ),
    f(
        "sourcegraph_token",
        "Sourcegraph",
        &["sgp_"],
        Shape::Custom(sourcegraph),
    ),
    f(
        "octopus_deploy_api_key",
        "Octopus Deploy",
        &["API-"],
        Shape::Seq(&[R(Upper, 26, 32)]),
    ),
    f(
        "harness_token",
        "Harness",
        &["pat.", "sat."],
        Shape::Seq(&[
            R(B64Url, 22, 22),
            L("."),
            R(Alnum, 24, 24),
            L("."),
            R(Alnum, 20, 20),
        ]),
    ),
    f(
        "jfrog_api_key",
        "JFrog Artifactory",
        &["AKCp"],
        Shape::Seq(&[R(Alnum, 69, 69)]),
    ),
    f(
        "jfrog_reference_token",
        "JFrog Artifactory",
        &["cmVmdGtu"],
        Shape::Seq(&[R(Alnum, 56, 56)]),
    ),
    f(
        "docker_hub_pat",
        "Docker Hub",
        &["dckr_pat_"],
        Shape::Seq(&[R(B64Url, 27, 27)]),
    ),
    f(
        "docker_hub_oat",
        "Docker Hub",
        &["dckr_oat_"],
        Shape::Seq(&[R(B64Url, 32, 32)]),
    ),
    f(
        "sonarqube_token",
        "SonarQube",
        &["squ_", "sqp_", "sqa_"],
        Shape::Seq(&[R(Hex, 40, 40)]),
    ),
    f(
        "deno_deploy_token",
        "Deno Deploy",
        &["ddp_", "ddw_"],
        Shape::Seq(&[R(Alnum, 36, 36)]),
    ),
    f(
        "prefect_api_key",
        "Prefect",
        &["pnu_"],
        Shape::Seq(&[R(Alnum, 36, 36)]),
    ),
    f(
        "postman_api_key",
        "Postman",
        &["PMAK-"],
        Shape::Seq(&[R(Hex, 24, 24), L("-"), R(Hex, 34, 34)]),
    ),
    f(
        "linear_api_key",
        "Linear",
        &["lin_api_"],
        Shape::Seq(&[R(Alnum, 40, 40)]),
    ),
    f(
        "notion_token",
        "Notion",
        &["ntn_"],
        Shape::Seq(&[R(Digits, 11, 11), R(Alnum, 35, 35)]),
    ),
    f(
        "notion_legacy_token",
        "Notion",
        &["secret_"],
        Shape::Seq(&[R(Alnum, 43, 43)]),
    ),
    f(
        "figma_pat",
        "Figma",
        &["figd_"],
        Shape::Seq(&[R(B64Url, 40, 40)]),
    ),
    f(
        "typeform_pat",
        "Typeform",
        &["tfp_"],
        Shape::Seq(&[R(Tok, 59, 59)]),
    ),
    f(
        "contentful_pat",
        "Contentful",
        &["CFPAT-"],
        Shape::Seq(&[R(B64Url, 43, 43)]),
    ),
    f(
        "adobe_client_secret",
        "Adobe",
        &["p8e-"],
        Shape::Seq(&[R(Alnum, 32, 32)]),
    ),
    f(
        "frameio_token",
        "Frame.io",
        &["fio-u-"],
        Shape::Seq(&[R(B64Url, 64, 64)]),
    ),
    f(
        "readme_api_key",
        "ReadMe",
        &["rdme_"],
        Shape::Seq(&[R(Lower, 70, 70)]),
    ),
    f(
        "openshift_token",
        "Red Hat OpenShift",
        &["sha256~"],
        Shape::Seq(&[R(B64Url, 43, 43)]),
    ),
    f(
        "airtable_pat",
        "Airtable",
        &["pat"],
        Shape::Seq(&[R(Alnum, 14, 14), L("."), R(Hex, 64, 64)]),
    ),
    f(
        "shopify_token",
        "Shopify",
        &["shpat_", "shpca_", "shppa_", "shpss_"],
        Shape::Seq(&[R(HexAny, 32, 32)]),
    ),
    f(
        "hubspot_pat",
        "HubSpot",
        &["pat-na1-", "pat-eu1-"],
        Shape::Seq(UUID),
    ),
    f(
        "launchdarkly_token",
        "LaunchDarkly",
        &["api-", "sdk-"],
        Shape::Seq(UUID),
    ),
    f(
        "posthog_personal_api_key",
        "PostHog",
        &["phx_"],
        Shape::Seq(&[R(Alnum, 43, 43)]),
    ),
    f(
        "intra42_client_secret",
        "42",
        &["s-s4t2ud-", "s-s4t2af-"],
        Shape::Seq(&[R(Hex, 64, 64)]),
    ),
    // Chat and collaboration.
    f(
        "telegram_bot_token",
        "Telegram",
        &[":AA"],
        Shape::Custom(telegram),
    ),
    f(
        "discord_webhook",
        "Discord",
        &["/api/webhooks/"],
        Shape::Custom(discord_webhook),
    ),
    f(
        "teams_webhook",
        "Microsoft Teams",
        &["/webhookb2/"],
        Shape::Custom(teams_webhook),
    ),
    f(
        "zapier_webhook",
        "Zapier",
        &["hooks.zapier.com/hooks/catch/"],
        Shape::Custom(zapier_webhook),
    ),
    // Payments and commerce.
    f(
        "stripe_webhook_secret",
        "Stripe",
        &["whsec_"],
        Shape::Seq(&[R(Alnum, 32, 64)]),
    ),
    f(
        "square_access_token",
        "Square",
        &["EAAA"],
        Shape::Seq(&[R(B64Url, 60, 60)]),
    ),
    f(
        "square_legacy_token",
        "Square",
        &["sq0atp-"],
        Shape::Seq(&[R(B64Url, 22, 22)]),
    ),
    f(
        "square_oauth_secret",
        "Square",
        &["sq0csp-"],
        Shape::Seq(&[R(B64Url, 43, 43)]),
    ),
    f(
        "braintree_access_token",
        "PayPal Braintree",
        &["access_token$"],
        Shape::Custom(braintree),
    ),
    f(
        "flutterwave_secret_key",
        "Flutterwave",
        &["FLWSECK_TEST-", "FLWSECK-"],
        Shape::Seq(&[R(Hex, 32, 32), L("-X")]),
    ),
    f(
        "shippo_token",
        "Shippo",
        &["shippo_live_", "shippo_test_"],
        Shape::Seq(&[R(Hex, 40, 40)]),
    ),
    f(
        "easypost_api_key",
        "EasyPost",
        &["EZAK", "EZTK"],
        Shape::Seq(&[R(Alnum, 54, 54)]),
    ),
    f(
        "duffel_token",
        "Duffel",
        &["duffel_live_", "duffel_test_"],
        Shape::Seq(&[R(B64Url, 43, 43)]),
    ),
    f(
        "plaid_access_token",
        "Plaid",
        &[
            "access-production-",
            "access-development-",
            "access-sandbox-",
        ],
        Shape::Seq(UUID),
    ),
    // Email and SMS.
    f(
        "mailgun_api_key",
        "Mailgun",
        &["key-"],
        Shape::Seq(&[R(Hex, 32, 32)]),
    ),
    f(
        "mailchimp_api_key",
        "Mailchimp",
        &["-us"],
        Shape::Custom(mailchimp),
    ),
    f(
        "brevo_api_key",
        "Brevo (Sendinblue)",
        &["xkeysib-", "xsmtpsib-"],
        Shape::Seq(&[R(Hex, 64, 64), L("-"), R(Alnum, 16, 16)]),
    ),
    // Observability.
    f(
        "grafana_cloud_token",
        "Grafana Cloud",
        &["glc_"],
        Shape::Seq(&[R(B64, 32, 400)]),
    ),
    Family {
        checksum: true,
        ..f(
            "grafana_service_account_token",
            "Grafana",
            &["glsa_"],
            Shape::Custom(grafana_sa),
        )
    },
    f(
        "newrelic_user_api_key",
        "New Relic",
        &["NRAK-"],
        Shape::Seq(&[R(Upper, 27, 27)]),
    ),
    f(
        "newrelic_insert_key",
        "New Relic",
        &["NRII-"],
        Shape::Seq(&[R(B64Url, 32, 32)]),
    ),
    f(
        "sentry_user_token",
        "Sentry",
        &["sntryu_"],
        Shape::Seq(&[R(Hex, 64, 64)]),
    ),
    f(
        "sentry_org_token",
        "Sentry",
        &["sntrys_"],
        Shape::Seq(&[R(B64Joined, 80, 1024)]),
    ),
    f(
        "dynatrace_token",
        "Dynatrace",
        &["dt0c01."],
        Shape::Seq(&[R(Upper, 24, 24), L("."), R(Upper, 64, 64)]),
    ),
    // Package registries.
    f(
        "rubygems_api_key",
        "RubyGems",
        &["rubygems_"],
        Shape::Seq(&[R(Hex, 48, 48)]),
    ),
    f(
        "nuget_api_key",
        "NuGet",
        &["oy2"],
        Shape::Seq(&[R(Lower, 43, 43)]),
    ),
    f(
        "clojars_token",
        "Clojars",
        &["CLOJARS_"],
        Shape::Seq(&[R(Lower, 60, 60)]),
    ),
    f(
        "crates_io_token",
        "crates.io",
        &["cio"],
        Shape::Seq(&[R(Alnum, 32, 32)]),
    ),
    // Databases as a service and data platforms.
    f(
        "databricks_token",
        "Databricks",
        &["dapi"],
        Shape::Seq(&[R(Hex, 32, 32)]),
    ),
    f(
        "supabase_token",
        "Supabase",
        &["sbp_"],
        Shape::Seq(&[R(Hex, 40, 40)]),
    ),
    f(
        "planetscale_token",
        "PlanetScale",
        &["pscale_tkn_", "pscale_pw_", "pscale_oauth_"],
        Shape::Seq(&[R(Tok, 32, 64)]),
    ),
    // AI APIs.
    f(
        "openai_api_key",
        "OpenAI",
        &["T3BlbkFJ"],
        Shape::Custom(openai),
    ),
    f(
        "anthropic_api_key",
        "Anthropic",
        &["sk-ant-api03-", "sk-ant-admin01-"],
        Shape::Custom(anthropic),
    ),
    f(
        "openrouter_api_key",
        "OpenRouter",
        &["sk-or-v1-"],
        Shape::Seq(&[R(Hex, 64, 64)]),
    ),
    f(
        "groq_api_key",
        "Groq",
        &["gsk_"],
        Shape::Seq(&[R(Alnum, 52, 52)]),
    ),
    f(
        "perplexity_api_key",
        "Perplexity",
        &["pplx-"],
        Shape::Seq(&[R(Alnum, 48, 48)]),
    ),
    f(
        "replicate_api_token",
        "Replicate",
        &["r8_"],
        Shape::Seq(&[R(Alnum, 37, 37)]),
    ),
    f(
        "huggingface_token",
        "Hugging Face",
        &["hf_", "api_org_"],
        Shape::Seq(&[R(Letters, 34, 34)]),
    ),
    f(
        "xai_api_key",
        "xAI",
        &["xai-"],
        Shape::Seq(&[R(Alnum, 80, 80)]),
    ),
    f(
        "langsmith_api_key",
        "LangChain LangSmith",
        &["lsv2_pt_", "lsv2_sk_"],
        Shape::Seq(&[R(Hex, 32, 32), L("_"), R(Hex, 10, 10)]),
    ),
    // Social and consumer platforms.
    f(
        "twitter_bearer_token",
        "X (Twitter)",
        &["AAAAAAAAAAAAAAAAAAAAA"],
        Shape::Custom(twitter_bearer),
    ),
    f(
        "facebook_access_token",
        "Meta (Facebook)",
        &["EAACEdEose0cBA"],
        Shape::Seq(&[R(Alnum, 20, 1024)]),
    ),
    f(
        "mapbox_secret_token",
        "Mapbox",
        &["sk.eyJ"],
        Shape::Seq(&[R(B64Url, 50, 400), L("."), R(B64Url, 22, 22)]),
    ),
    f(
        "dropbox_short_lived_token",
        "Dropbox",
        &["sl."],
        Shape::Seq(&[R(B64UrlDot, 130, 2048)]),
    ),
    // Secrets managers and keys.
    f(
        "onepassword_secret_key",
        "1Password",
        &["A3-"],
        Shape::Custom(onepassword_secret_key),
    ),
    f(
        "onepassword_service_account_token",
        "1Password",
        &["ops_eyJ"],
        Shape::Seq(&[R(B64, 100, 8192)]),
    ),
    // Cloud providers and infrastructure (second group).
    f(
        "aws_session_token",
        "AWS STS",
        &["IQoJb3JpZ2luX2Vj", "FwoGZXIvYXdzE"],
        Shape::Seq(&[R(B64, 100, 4096)]),
    ),
    f(
        "castai_api_key",
        "CAST AI",
        &["castai_v1_"],
        Shape::Seq(&[R(Alnum, 64, 64), L("_"), R(Alnum, 8, 8)]),
    ),
    f(
        "yandex_api_key",
        "Yandex Cloud",
        &["AQVN"],
        Shape::Seq(&[R(B64Url, 35, 38)]),
    ),
    f(
        "yandex_iam_token",
        "Yandex Cloud",
        &["t1."],
        Shape::Seq(&[R(B64UrlEq, 16, 1024), L("."), R(B64Url, 86, 86)]),
    ),
    f(
        "vault_legacy_token",
        "HashiCorp Vault",
        &["s."],
        Shape::Custom(vault_legacy),
    ),
    f(
        "clickhouse_cloud_api_secret",
        "ClickHouse Cloud",
        &["4b1d"],
        Shape::Seq(&[R(Alnum, 38, 38)]),
    ),
    f(
        "defined_networking_token",
        "Defined Networking",
        &["dnkey-"],
        Shape::Seq(&[R(B64UrlEq, 26, 26), L("-"), R(B64UrlEq, 52, 52)]),
    ),
    f(
        "google_oauth_refresh_token",
        "Google Cloud",
        &["1//"],
        Shape::Seq(&[R(B64Url, 60, 512)]),
    ),
    f(
        "firebase_fcm_server_key",
        "Firebase Cloud Messaging",
        &[":APA91b"],
        Shape::Custom(firebase_fcm),
    ),
    // Source hosting, CI/CD and developer tools (second group).
    f(
        "authress_access_key",
        "Authress",
        &["sc_", "ext_", "scauth_", "authress_"],
        Shape::Seq(&[
            R(Alnum, 5, 30),
            L("."),
            R(Alnum, 4, 6),
            L(".acc"),
            R(Sep, 1, 1),
            R(AlnumDash, 10, 32),
            L("."),
            R(B64Any, 30, 120),
        ]),
    ),
    f(
        "chieftools_token",
        "Chief Tools",
        &["ctp_", "cto_", "ctr_"],
        Shape::Seq(&[R(Alnum, 30, 248)]),
    ),
    f(
        "settlemint_token",
        "SettleMint",
        &["sm_aat_", "sm_pat_", "sm_sat_"],
        Shape::Seq(&[R(Alnum, 16, 16)]),
    ),
    f(
        "gitlab_session_cookie",
        "GitLab",
        &["_gitlab_session="],
        Shape::Custom(gitlab_session),
    ),
    f(
        "sidekiq_credentials",
        "Sidekiq (Contributed Systems)",
        &[
            "BUNDLE_ENTERPRISE__CONTRIBSYS__COM",
            "BUNDLE_GEMS__CONTRIBSYS__COM",
        ],
        Shape::Custom(sidekiq),
    ),
    f(
        "maxmind_license_key",
        "MaxMind",
        &["_mmk"],
        Shape::Custom(maxmind),
    ),
    // Payments and commerce (second group).
    f(
        "adyen_api_key",
        "Adyen",
        &["AQE"],
        Shape::Seq(&[R(Lower, 5, 128), L("."), R(B64UrlEq, 50, 80)]),
    ),
    f(
        "flutterwave_public_key",
        "Flutterwave",
        &["FLWPUBK_TEST-", "FLWPUBK-"],
        Shape::Seq(&[R(Hex, 32, 32), L("-X")]),
    ),
    f(
        "flutterwave_encryption_key",
        "Flutterwave",
        &["FLWSECK_TEST", "FLWSECK_TEST-"],
        Shape::Seq(&[R(Hex, 12, 12)]),
    ),
    f(
        "lob_api_key",
        "Lob",
        &["live_", "test_"],
        Shape::Seq(&[R(Hex, 35, 35)]),
    ),
    f(
        "lob_publishable_key",
        "Lob",
        &["live_pub_", "test_pub_"],
        Shape::Seq(&[R(Hex, 31, 31)]),
    ),
    f(
        "gocardless_access_token",
        "GoCardless",
        &["live_", "sandbox_"],
        Shape::Custom(gocardless),
    ),
    // Email and SMS (second group).
    f(
        "mailgun_public_key",
        "Mailgun",
        &["pubkey-"],
        Shape::Seq(&[R(Hex, 32, 32)]),
    ),
    // Observability (second group).
    f(
        "grafana_api_key",
        "Grafana",
        &["eyJrIjoi"],
        Shape::Seq(&[R(B64, 70, 400)]),
    ),
    f(
        "newrelic_browser_key",
        "New Relic",
        &["NRJS-"],
        Shape::Seq(&[R(Hex, 19, 19)]),
    ),
    // Social and consumer platforms (second group).
    f(
        "meta_page_access_token",
        "Meta (Facebook)",
        &["EAA"],
        Shape::Seq(&[R(Alnum, 101, 1025)]),
    ),
    f(
        "mapbox_public_token",
        "Mapbox",
        &["pk.eyJ"],
        Shape::Seq(&[R(B64Url, 50, 400), L("."), R(B64Url, 22, 22)]),
    ),
    Family {
        id: "age_secret_key",
        provider: "age",
        prefixes: &["AGE-SECRET-KEY-1"],
        shape: Shape::Custom(age_secret_key),
        kind: Kind::PrivateKey,
        checksum: true,
    },
];

impl Family {
    /// Whether every token of this family starts a word at its prefix (its confirmation
    /// rejects an anchor with a letter, digit or `_` right before it). Such prefixes need not
    /// be searched inside words: [`crate::redactor`] looks them up at separators.
    pub(crate) fn at_token_start(&self) -> bool {
        match self.shape {
            Shape::Seq(_) => true,
            // The hand-written confirmations that begin with `starts_token(text, at.start)`
            // (grafana's checks it after the sequence), as `tests/families.rs` exercises.
            Shape::Custom(_) => matches!(
                self.id,
                "sourcegraph_token"
                    | "braintree_access_token"
                    | "grafana_service_account_token"
                    | "anthropic_api_key"
                    | "twitter_bearer_token"
                    | "onepassword_secret_key"
                    | "age_secret_key"
                    | "vault_legacy_token"
                    | "sidekiq_credentials"
                    | "gocardless_access_token"
            ),
        }
    }

    /// Confirms a token of this family at an anchor `at` (`prefix` matched there).
    pub(crate) fn confirm(&self, text: &[u8], at: Range<usize>) -> Option<Range<usize>> {
        match self.shape {
            Shape::Custom(f) => f(text, at),
            Shape::Seq(segs) => {
                if !starts_token(text, at.start) {
                    return None;
                }
                let end = seq(text, at.end, segs)?;
                ends_token(text, end).then_some(at.start..end)
            }
        }
    }
}

/// Matches `segs` from `p`; the end, if every part matched and no random part (a run of at
/// least sixteen; shorter runs are ids, checksums and UUID groups, too short to judge) is a
/// placeholder.
fn seq(text: &[u8], mut p: usize, segs: &[Seg]) -> Option<usize> {
    for (i, seg) in segs.iter().enumerate() {
        match *seg {
            R(c, min, max) => {
                // A run that is not the last may be followed by a literal of its own
                // alphabet only if it has a fixed length.
                let cap = if i + 1 < segs.len() && min == max {
                    max
                } else {
                    max + 1
                };
                let n = run_len(text, p, |b| c.test(*b), cap);
                if n < min || n > max || (n >= 16 && checks::is_placeholder(&text[p..p + n])) {
                    return None;
                }
                p += n;
            }
            L(lit) => {
                if !text[p.min(text.len())..].starts_with(lit.as_bytes()) {
                    return None;
                }
                p += lit.len();
            }
        }
    }
    Some(p)
}

/// Entra ID client secrets: three characters, a version digit and `Q~` (the anchor), then 31
/// to 34 characters of `[A-Za-z0-9_~.-]`.
fn azure_secret(text: &[u8], at: Range<usize>) -> Option<Range<usize>> {
    let s = at.start.checked_sub(3)?;
    let charset = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'~' | b'.' | b'-');
    if !text[s..at.start].iter().all(charset)
        || !starts_token(text, s)
        || text.get(s.wrapping_sub(1)).is_some_and(charset)
    {
        return None;
    }
    let n = run_len(text, at.end, charset, 35);
    ((31..=34).contains(&n) && !checks::is_placeholder(&text[at.end..at.end + n]))
        .then_some(s..at.end + n)
}

/// Terraform Cloud / Enterprise API tokens: 14 alphanumerics, `.atlasv1.`, 60 to 70 of
/// `[A-Za-z0-9_=-]`.
fn terraform(text: &[u8], at: Range<usize>) -> Option<Range<usize>> {
    let s = at.start.checked_sub(14)?;
    if !text[s..at.start].iter().all(u8::is_ascii_alphanumeric) || !starts_token(text, s) {
        return None;
    }
    let n = run_len(
        text,
        at.end,
        |b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'=' | b'-'),
        71,
    );
    ((60..=70).contains(&n)
        && ends_token(text, at.end + n)
        && !checks::is_placeholder(&text[at.end..at.end + n]))
    .then_some(s..at.end + n)
}

/// Sourcegraph access tokens: `sgp_` + (16 hex or `local`) + `_` + 40 hex, or the legacy
/// `sgp_` + 40 hex.
fn sourcegraph(text: &[u8], at: Range<usize>) -> Option<Range<usize>> {
    if !starts_token(text, at.start) {
        return None;
    }
    let e = at.end;
    let hex = |b: &u8| b.is_ascii_hexdigit();
    let instance = if text[e..].starts_with(b"local_") {
        Some(e + 6)
    } else if run_len(text, e, hex, 17) == 16 && text.get(e + 16) == Some(&b'_') {
        Some(e + 17)
    } else {
        None
    };
    let body = instance.unwrap_or(e);
    let n = run_len(text, body, hex, 41);
    (n == 40 && ends_token(text, body + n) && !checks::is_placeholder(&text[body..body + n]))
        .then_some(at.start..body + n)
}

/// Telegram bot tokens: the bot id (8 to 10 digits), `:AA` (the anchor), 33 base64url.
fn telegram(text: &[u8], at: Range<usize>) -> Option<Range<usize>> {
    let digits = text[..at.start]
        .iter()
        .rev()
        .take(11)
        .take_while(|b| b.is_ascii_digit())
        .count();
    let s = at.start - digits;
    if !(8..=10).contains(&digits) || !starts_token(text, s) {
        return None;
    }
    let n = run_len(text, at.end, |b| B64Url.test(*b), 34);
    (n == 33 && !checks::is_placeholder(&text[at.end..at.end + n])).then_some(s..at.end + n)
}

/// Discord webhooks: `discord.com/api/webhooks/` (or `discordapp.com`, `ptb.`, `canary.`),
/// the webhook id, `/`, and the token (60 to 68 base64url), which is redacted.
fn discord_webhook(text: &[u8], at: Range<usize>) -> Option<Range<usize>> {
    let host = &text[..at.start];
    if !(host.ends_with(b"discord.com") || host.ends_with(b"discordapp.com")) {
        return None;
    }
    let id = run_len(text, at.end, u8::is_ascii_digit, 21);
    let token = at.end + id + 1;
    if !(17..=20).contains(&id) || text.get(at.end + id) != Some(&b'/') {
        return None;
    }
    let n = run_len(text, token, |b| B64Url.test(*b), 69);
    ((60..=68).contains(&n) && !checks::is_placeholder(&text[token..token + n]))
        .then_some(token..token + n)
}

/// Microsoft Teams incoming webhooks (`…webhook.office.com/webhookb2/<path>`): the path.
fn teams_webhook(text: &[u8], at: Range<usize>) -> Option<Range<usize>> {
    if !text[..at.start].ends_with(b"webhook.office.com") {
        return None;
    }
    let n = run_len(
        text,
        at.end,
        |b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'@' | b'/'),
        512,
    );
    let path = &text[at.end..at.end + n];
    (n >= 100 && memchr::memmem::find(path, b"/IncomingWebhook/").is_some())
        .then_some(at.end..at.end + n)
}

/// Zapier catch hooks (`hooks.zapier.com/hooks/catch/<account>/<hook>/`): the path.
fn zapier_webhook(text: &[u8], at: Range<usize>) -> Option<Range<usize>> {
    let n = run_len(
        text,
        at.end,
        |b| b.is_ascii_alphanumeric() || *b == b'/',
        128,
    );
    let hook = text[at.end..at.end + n].split(|b| *b == b'/').nth(1)?;
    (n >= 10 && hook.len() >= 6).then_some(at.end..at.end + n)
}

/// Braintree access tokens: `access_token$` (the anchor), `production` or `sandbox`, `$`,
/// 16 alphanumerics, `$`, 32 hex.
fn braintree(text: &[u8], at: Range<usize>) -> Option<Range<usize>> {
    if !starts_token(text, at.start) {
        return None;
    }
    let env = [&b"production$"[..], b"sandbox$"]
        .into_iter()
        .find(|e| text[at.end..].starts_with(e))?;
    let end = seq(
        text,
        at.end + env.len(),
        &[R(Alnum, 16, 16), L("$"), R(Hex, 32, 32)],
    )?;
    ends_token(text, end).then_some(at.start..end)
}

/// Mailchimp API keys: 32 hex, `-us` (the anchor) and the data centre number.
fn mailchimp(text: &[u8], at: Range<usize>) -> Option<Range<usize>> {
    let s = at.start.checked_sub(32)?;
    let dc = run_len(text, at.end, u8::is_ascii_digit, 3);
    (text[s..at.start].iter().all(|b| Hex.test(*b))
        && starts_token(text, s)
        && (1..=2).contains(&dc)
        && ends_token(text, at.end + dc)
        && !checks::is_placeholder(&text[s..at.start]))
    .then_some(s..at.end + dc)
}

/// Grafana service account tokens: `glsa_` + 32 alphanumerics + `_` + 8 hex, the CRC32 of
/// everything before the last `_` as four little-endian bytes.
fn grafana_sa(text: &[u8], at: Range<usize>) -> Option<Range<usize>> {
    let end = seq(text, at.end, &[R(Alnum, 32, 32), L("_"), R(Hex, 8, 8)])?;
    if !starts_token(text, at.start) || !ends_token(text, end) {
        return None;
    }
    let crc = crc32fast::hash(&text[at.start..end - 9]).to_le_bytes();
    let mut hex = [0u8; 8];
    for (i, b) in crc.iter().enumerate() {
        hex[2 * i] = b"0123456789abcdef"[usize::from(b >> 4)];
        hex[2 * i + 1] = b"0123456789abcdef"[usize::from(b & 15)];
    }
    (text[end - 8..end] == hex).then_some(at.start..end)
}

/// OpenAI API keys: `sk-` (optionally `proj-`, `svcacct-`, `admin-` and a name), random
/// characters with `T3BlbkFJ` (base64 of `OpenAI`, the anchor) among them.
fn openai(text: &[u8], at: Range<usize>) -> Option<Range<usize>> {
    let b64url = |b: &u8| B64Url.test(*b);
    let before = text[..at.start]
        .iter()
        .rev()
        .take(400)
        .take_while(|b| b64url(b))
        .count();
    let run_start = at.start - before;
    let sk = memchr::memmem::find(&text[run_start..at.start], b"sk-")? + run_start;
    let after = run_len(text, at.end, b64url, 400);
    let end = at.end + after;
    (sk == run_start
        && starts_token(text, sk)
        && at.start - sk >= 20
        && after >= 20
        && !checks::is_placeholder(&text[at.end..end]))
    .then_some(sk..end)
}

/// Anthropic API keys: `sk-ant-api03-` or `sk-ant-admin01-`, 93 base64url characters, `AA`.
fn anthropic(text: &[u8], at: Range<usize>) -> Option<Range<usize>> {
    let n = run_len(text, at.end, |b| B64Url.test(*b), 96);
    let end = at.end + n;
    (starts_token(text, at.start)
        && n == 95
        && text[..end].ends_with(b"AA")
        && !checks::is_placeholder(&text[at.end..end - 2]))
    .then_some(at.start..end)
}

/// X (Twitter) app bearer tokens: 22 `A`s, then 80 to 120 of `[A-Za-z0-9%]`.
fn twitter_bearer(text: &[u8], at: Range<usize>) -> Option<Range<usize>> {
    if !starts_token(text, at.start) || text.get(at.end) != Some(&b'A') {
        return None;
    }
    let body = at.end + 1;
    let n = run_len(text, body, |b| b.is_ascii_alphanumeric() || *b == b'%', 121);
    ((80..=120).contains(&n) && !checks::is_placeholder(&text[body..body + n]))
        .then_some(at.start..body + n)
}

/// 1Password secret keys: `A3-`, then groups of upper-case alphanumerics of 6, 11 (or 6 and
/// 5), 5, 5, 5, joined by `-`.
fn onepassword_secret_key(text: &[u8], at: Range<usize>) -> Option<Range<usize>> {
    if !starts_token(text, at.start) {
        return None;
    }
    let n = run_len(text, at.end, |b| Upper.test(*b) || *b == b'-', 64);
    let end = at.end + n;
    let groups: Vec<usize> = text[at.end..end]
        .split(|b| *b == b'-')
        .map(<[u8]>::len)
        .collect();
    ((groups == [6, 11, 5, 5, 5] || groups == [6, 6, 5, 5, 5, 5]) && ends_token(text, end))
        .then_some(at.start..end)
}

/// age X25519 identities: `AGE-SECRET-KEY-1` + 58 upper-case bech32 characters whose
/// BIP 173 checksum (over the lower-cased string) holds.
fn age_secret_key(text: &[u8], at: Range<usize>) -> Option<Range<usize>> {
    const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    if !starts_token(text, at.start) {
        return None;
    }
    let n = run_len(text, at.end, u8::is_ascii_alphanumeric, 59);
    if n != 58 {
        return None;
    }
    let mut values = Vec::with_capacity(n);
    for b in &text[at.end..at.end + n] {
        let v = CHARSET.iter().position(|c| *c == b.to_ascii_lowercase())?;
        values.push(v as u8);
    }
    checks::bech32(b"age-secret-key-", &values).then_some(at.start..at.end + n)
}

/// HashiCorp Vault service tokens before 1.10: `s.` + 24 base62, with a digit among them
/// (a run of letters only is a word, as in a Java package name).
fn vault_legacy(text: &[u8], at: Range<usize>) -> Option<Range<usize>> {
    let n = run_len(text, at.end, u8::is_ascii_alphanumeric, 25);
    let body = text.get(at.end..at.end + n)?;
    (starts_token(text, at.start)
        && n == 24
        && body.iter().any(u8::is_ascii_digit)
        && body.iter().any(u8::is_ascii_alphabetic)
        && !checks::is_placeholder(body))
    .then_some(at.start..at.end + n)
}

/// GitLab's session cookie: `_gitlab_session=` (the anchor) + 32 lower-case hex or
/// alphanumerics; the value is redacted, the cookie's name kept.
fn gitlab_session(text: &[u8], at: Range<usize>) -> Option<Range<usize>> {
    let n = run_len(text, at.end, |b| Lower.test(*b), 33);
    (n == 32 && !checks::is_placeholder(&text[at.end..at.end + n])).then_some(at.end..at.end + n)
}

/// Skips every byte of `set` from `p`.
fn skip_any(text: &[u8], mut p: usize, set: &[u8]) -> usize {
    while text.get(p).is_some_and(|b| set.contains(b)) {
        p += 1;
    }
    p
}

/// Sidekiq Pro/Enterprise gem-server credentials, as Bundler's environment variables set
/// them: `BUNDLE_GEMS__CONTRIBSYS__COM` (or `BUNDLE_ENTERPRISE__…`), `=` or `:`, then
/// 8 hex `:` 8 hex; the credentials are redacted, the variable's name kept.
fn sidekiq(text: &[u8], at: Range<usize>) -> Option<Range<usize>> {
    if !starts_token(text, at.start) {
        return None;
    }
    let p = skip_any(text, at.end, b"\"' \t");
    if !matches!(text.get(p), Some(b'=' | b':')) {
        return None;
    }
    let p = skip_any(text, p + 1, b"\"' \t");
    let end = seq(text, p, &[R(Hex, 8, 8), L(":"), R(Hex, 8, 8)])?;
    ends_token(text, end).then_some(p..end)
}

/// MaxMind license keys: 6 alphanumerics, `_`, 29 alphanumerics and `_mmk` (the anchor).
fn maxmind(text: &[u8], at: Range<usize>) -> Option<Range<usize>> {
    let s = at.start.checked_sub(36)?;
    let key = &text[s..at.start];
    (key[..6].iter().all(u8::is_ascii_alphanumeric)
        && key[6] == b'_'
        && key[7..].iter().all(u8::is_ascii_alphanumeric)
        && starts_token(text, s)
        && ends_token(text, at.end)
        && !checks::is_placeholder(&key[7..]))
    .then_some(s..at.end)
}

/// GoCardless access tokens: `live_` or `sandbox_`, then 40 of `[A-Za-z0-9_=-]` with both
/// letters and digits (an identifier such as `live_migration_…` has no digits).
fn gocardless(text: &[u8], at: Range<usize>) -> Option<Range<usize>> {
    let n = run_len(text, at.end, |b| B64UrlEq.test(*b), 41);
    let body = text.get(at.end..at.end + n)?;
    (starts_token(text, at.start)
        && n == 40
        && ends_token(text, at.end + n)
        && body.iter().any(u8::is_ascii_digit)
        && body.iter().any(u8::is_ascii_alphabetic)
        && !checks::is_placeholder(body))
    .then_some(at.start..at.end + n)
}

/// Firebase Cloud Messaging legacy server keys: `AAAA` + 7 base64url, `:APA91b` (the
/// anchor), 100 to 200 base64url.
fn firebase_fcm(text: &[u8], at: Range<usize>) -> Option<Range<usize>> {
    let s = at.start.checked_sub(11)?;
    let n = run_len(text, at.end, |b| B64Url.test(*b), 201);
    (text[s..].starts_with(b"AAAA")
        && text[s + 4..at.start].iter().all(|b| B64Url.test(*b))
        && starts_token(text, s)
        && (100..=200).contains(&n)
        && !checks::is_placeholder(&text[at.end..at.end + n]))
    .then_some(s..at.end + n)
}
