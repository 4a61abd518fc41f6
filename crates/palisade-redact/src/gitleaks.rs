//! Rules in gitleaks' TOML format, loaded at run time: `id`, `regex`, `secretGroup`,
//! `entropy`, `keywords`, `path`, per-rule allow-lists (`[[rules.allowlists]]`, or the older
//! `[rules.allowlist]`) and global ones (`[[allowlists]]`, `[allowlist]`, with `targetRules`),
//! each with `regexes`, `regexTarget` (`secret`, `match` or `line`), `stopwords`, `paths`,
//! `commits` and `condition` (`OR`, `AND`); `[extend]` with `useDefault`, `path` and
//! `disabledRules`.
//!
//! Paths are known only where the caller names the text's source
//! ([`Redactor::with_source_path`](crate::Redactor::with_source_path)); for text without one,
//! a path allow-list never matches and a rule's `path` does not restrict it. Commits are never
//! known: an allow-list's `commits` never match (under `AND` such an allow-list never
//! applies). A rule with only a `path` finds files, not text, and is skipped.

use regex::bytes::Regex;

use crate::{checks, error::ConfigError};

/// What an allow-list regex is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Secret,
    Match,
    Line,
}

/// One allow-list: a finding it matches is not reported.
#[derive(Debug, Clone)]
pub(crate) struct Allowlist {
    regexes: Vec<Regex>,
    target: Target,
    /// Lower case.
    stopwords: Vec<Vec<u8>>,
    /// Matched against the text's source path, when one is known.
    paths: Vec<Regex>,
    /// `commits` were listed: a text has no commit, so this check never matches.
    commits: bool,
    /// `condition = "AND"`: every kind of check present must match.
    all: bool,
    /// `targetRules` of a global allow-list: the rule ids it applies to (empty: every rule).
    pub(crate) target_rules: Vec<String>,
}

impl Allowlist {
    /// Whether `path` matches one of the allow-list's `paths`.
    pub(crate) fn path_matches(&self, path: &[u8]) -> bool {
        self.paths.iter().any(|r| r.is_match(path))
    }

    /// Whether the finding (its secret, whole match and line) is allowed. `path`: whether the
    /// text's source path matches [`Self::path_matches`], `None` when no path is known.
    pub(crate) fn allows(
        &self,
        secret: &[u8],
        matched: &[u8],
        line: &[u8],
        path: Option<bool>,
    ) -> bool {
        let target = match self.target {
            Target::Secret => secret,
            Target::Match => matched,
            Target::Line => line,
        };
        let regex =
            (!self.regexes.is_empty()).then(|| self.regexes.iter().any(|r| r.is_match(target)));
        let folded = secret.to_ascii_lowercase();
        let stop = (!self.stopwords.is_empty()).then(|| {
            self.stopwords
                .iter()
                .any(|w| memchr::memmem::find(&folded, w).is_some())
        });
        let paths = (!self.paths.is_empty()).then_some(path == Some(true));
        let commits = self.commits.then_some(false);
        let checks = [regex, stop, paths, commits];
        if self.all {
            checks.iter().any(Option::is_some) && checks.iter().flatten().all(|c| *c)
        } else {
            checks.iter().flatten().any(|c| *c)
        }
    }
}

/// A rule from a gitleaks file.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub(crate) id: String,
    pub(crate) regex: String,
    pub(crate) secret_group: Option<usize>,
    pub(crate) entropy: Option<f64>,
    pub(crate) keywords: Vec<String>,
    /// gitleaks' `path`: the rule runs only on text whose source path matches (when known).
    pub(crate) path: Option<Regex>,
    pub(crate) allowlists: Vec<Allowlist>,
}

/// What a rule file holds.
#[derive(Debug, Clone, Default)]
pub(crate) struct RuleFile {
    pub(crate) rules: Vec<Rule>,
    pub(crate) allowlists: Vec<Allowlist>,
    /// `[extend] useDefault`.
    pub(crate) use_default: bool,
    /// `[extend] path`, as written.
    pub(crate) extends: Option<String>,
    /// `[extend] disabledRules`.
    pub(crate) disabled: Vec<String>,
}

fn invalid(name: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidRule {
        name: name.to_owned(),
        reason: reason.into(),
    }
}

fn strings(table: &toml::Table, key: &str, name: &str) -> Result<Vec<String>, ConfigError> {
    match table.get(key) {
        None => Ok(Vec::new()),
        Some(toml::Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| invalid(name, format!("`{key}` must be a list of strings")))
            })
            .collect(),
        Some(_) => Err(invalid(name, format!("`{key}` must be a list of strings"))),
    }
}

fn allowlist(table: &toml::Table, name: &str) -> Result<Allowlist, ConfigError> {
    let regexes = strings(table, "regexes", name)?
        .iter()
        .map(|r| Regex::new(r).map_err(|e| invalid(name, format!("allow-list regex: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let target = match table.get("regexTarget").and_then(toml::Value::as_str) {
        None | Some("secret") => Target::Secret,
        Some("match") => Target::Match,
        Some("line") => Target::Line,
        Some(other) => return Err(invalid(name, format!("unknown regexTarget `{other}`"))),
    };
    let all = match table.get("condition").and_then(toml::Value::as_str) {
        None => false,
        Some(c) if c.eq_ignore_ascii_case("or") => false,
        Some(c) if c.eq_ignore_ascii_case("and") => true,
        Some(other) => return Err(invalid(name, format!("unknown condition `{other}`"))),
    };
    let paths = strings(table, "paths", name)?
        .iter()
        .map(|r| Regex::new(r).map_err(|e| invalid(name, format!("allow-list path: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Allowlist {
        regexes,
        target,
        stopwords: strings(table, "stopwords", name)?
            .into_iter()
            .map(|w| w.to_ascii_lowercase().into_bytes())
            .collect(),
        paths,
        commits: !strings(table, "commits", name)?.is_empty(),
        all,
        target_rules: strings(table, "targetRules", name)?,
    })
}

/// The allow-lists under `plural` (an array of tables) and `singular` (one table).
fn allowlists(
    table: &toml::Table,
    plural: &str,
    singular: &str,
    name: &str,
) -> Result<Vec<Allowlist>, ConfigError> {
    let mut out = Vec::new();
    match table.get(plural) {
        None => {}
        Some(toml::Value::Array(items)) => {
            for item in items {
                let t = item
                    .as_table()
                    .ok_or_else(|| invalid(name, format!("`{plural}` must be tables")))?;
                out.push(allowlist(t, name)?);
            }
        }
        Some(_) => return Err(invalid(name, format!("`{plural}` must be tables"))),
    }
    if let Some(t) = table.get(singular) {
        let t = t
            .as_table()
            .ok_or_else(|| invalid(name, format!("`{singular}` must be a table")))?;
        out.push(allowlist(t, name)?);
    }
    Ok(out)
}

/// Parses a gitleaks configuration.
pub(crate) fn parse(text: &str) -> Result<RuleFile, ConfigError> {
    let doc: toml::Table =
        toml::from_str(text).map_err(|e| invalid("gitleaks config", e.message().to_owned()))?;
    let mut file = RuleFile {
        allowlists: allowlists(&doc, "allowlists", "allowlist", "global allow-list")?,
        ..RuleFile::default()
    };
    match doc.get("extend") {
        None => {}
        Some(toml::Value::Table(extend)) => {
            let name = "[extend]";
            file.use_default = match extend.get("useDefault") {
                None => false,
                Some(v) => v
                    .as_bool()
                    .ok_or_else(|| invalid(name, "`useDefault` must be true or false"))?,
            };
            file.extends = match extend.get("path") {
                None => None,
                Some(v) => Some(
                    v.as_str()
                        .ok_or_else(|| invalid(name, "`path` must be a string"))?
                        .to_owned(),
                ),
            };
            if file.use_default && file.extends.is_some() {
                return Err(invalid(
                    name,
                    "`useDefault` and `path` cannot be used together",
                ));
            }
            file.disabled = strings(extend, "disabledRules", name)?;
        }
        Some(_) => return Err(invalid("gitleaks config", "`extend` must be a table")),
    }
    let rules = match doc.get("rules") {
        None => return Ok(file),
        Some(toml::Value::Array(rules)) => rules,
        Some(_) => {
            return Err(invalid(
                "gitleaks config",
                "`rules` must be an array of tables",
            ));
        }
    };
    for (n, rule) in rules.iter().enumerate() {
        let t = rule
            .as_table()
            .ok_or_else(|| invalid("gitleaks config", "`rules` must be an array of tables"))?;
        let id = t
            .get("id")
            .and_then(toml::Value::as_str)
            .map_or_else(|| format!("rule {}", n + 1), str::to_owned);
        let Some(regex) = t.get("regex").and_then(toml::Value::as_str) else {
            // A path-only rule finds files, not text.
            continue;
        };
        let secret_group = match t.get("secretGroup") {
            None => None,
            Some(v) => Some(
                v.as_integer()
                    .and_then(|g| usize::try_from(g).ok())
                    .ok_or_else(|| invalid(&id, "`secretGroup` must be a non-negative integer"))?,
            )
            .filter(|g| *g > 0),
        };
        let entropy = match t.get("entropy") {
            None => None,
            Some(v) => Some(
                v.as_float()
                    .or_else(|| {
                        v.as_integer()
                            .and_then(|i| i32::try_from(i).ok())
                            .map(f64::from)
                    })
                    .ok_or_else(|| invalid(&id, "`entropy` must be a number"))?,
            ),
        };
        let path = match t.get("path") {
            None => None,
            Some(v) => Some(
                v.as_str()
                    .ok_or_else(|| invalid(&id, "`path` must be a string"))
                    .and_then(|p| {
                        Regex::new(p).map_err(|e| invalid(&id, format!("rule path: {e}")))
                    })?,
            ),
        };
        file.rules.push(Rule {
            regex: regex.to_owned(),
            secret_group,
            entropy,
            keywords: strings(t, "keywords", &id)?,
            path,
            allowlists: allowlists(t, "allowlists", "allowlist", &id)?,
            id,
        });
    }
    Ok(file)
}

/// How many files a chain of `[extend] path` may hold, the first included (gitleaks' own
/// limit: a configuration, its base and the base's base).
const MAX_EXTEND_DEPTH: usize = 3;

/// Reads and parses the configuration at `path`, and the bases it extends by `[extend] path`
/// (resolved against the directory of the file that names it), merged: see [`merge`].
pub(crate) fn load(path: &std::path::Path) -> Result<RuleFile, ConfigError> {
    load_at(path, 1)
}

fn load_at(path: &std::path::Path, depth: usize) -> Result<RuleFile, ConfigError> {
    // The path is not echoed: a command line's arguments stay out of its messages.
    let text = std::fs::read_to_string(path).map_err(|e| {
        let which = if depth == 1 {
            "the configuration"
        } else {
            "an `[extend] path` base"
        };
        invalid("gitleaks config", format!("cannot read {which}: {e}"))
    })?;
    let mut file = parse(&text)?;
    if let Some(base) = file.extends.take() {
        if depth >= MAX_EXTEND_DEPTH {
            return Err(invalid(
                "[extend]",
                format!("`path` chains more than {MAX_EXTEND_DEPTH} files"),
            ));
        }
        let base = path
            .parent()
            .unwrap_or_else(|| std::path::Path::new(""))
            .join(base);
        file = merge(load_at(&base, depth + 1)?, file);
    }
    Ok(file)
}

/// A configuration over the base it extends: the base's rules, less those the configuration
/// disables (`disabledRules`) or defines again under the same id (its own definition wins),
/// then the configuration's rules; the allow-lists of both; the rules both disable.
pub(crate) fn merge(base: RuleFile, file: RuleFile) -> RuleFile {
    let mut rules: Vec<Rule> = base
        .rules
        .into_iter()
        .filter(|r| !file.disabled.contains(&r.id) && !file.rules.iter().any(|f| f.id == r.id))
        .collect();
    rules.extend(file.rules);
    let mut allowlists = base.allowlists;
    allowlists.extend(file.allowlists);
    let mut disabled = base.disabled;
    disabled.extend(file.disabled);
    RuleFile {
        rules,
        allowlists,
        use_default: base.use_default || file.use_default,
        extends: None,
        disabled,
    }
}

/// Whether a finding passes a rule's entropy bar.
pub(crate) fn entropy_ok(secret: &[u8], bar: Option<f64>) -> bool {
    bar.is_none_or(|bar| checks::entropy_at_least(secret, &mut None, bar))
}

/// The rules of gitleaks' default configuration that a built-in detector covers, and the
/// built-in detectors (provider family ids or kind names) covering each. `disabledRules`
/// naming one of these ids turns those detectors off; the crate documentation lists them.
pub(crate) const DEFAULT_RULES: &[(&str, &[&str])] = &[
    ("1password-secret-key", &["onepassword_secret_key"]),
    (
        "1password-service-account-token",
        &["onepassword_service_account_token"],
    ),
    ("adobe-client-secret", &["adobe_client_secret"]),
    ("adyen-api-key", &["adyen_api_key"]),
    ("age-secret-key", &["age_secret_key"]),
    ("alibaba-access-key-id", &["alibaba_access_key_id"]),
    ("anthropic-admin-api-key", &["anthropic_api_key"]),
    ("anthropic-api-key", &["anthropic_api_key"]),
    ("artifactory-api-key", &["jfrog_api_key"]),
    ("artifactory-reference-token", &["jfrog_reference_token"]),
    (
        "atlassian-api-token",
        &["atlassian_api_token", "atlassian_api_token_legacy"],
    ),
    (
        "authress-service-client-access-key",
        &["authress_access_key"],
    ),
    ("aws-access-token", &["aws_access_key_id"]),
    ("azure-ad-client-secret", &["azure_ad_client_secret"]),
    ("castai-api-key", &["castai_api_key"]),
    ("chieftools-access-token", &["chieftools_token"]),
    ("chieftools-pat", &["chieftools_token"]),
    ("chieftools-refresh-token", &["chieftools_token"]),
    (
        "clickhouse-cloud-api-secret-key",
        &["clickhouse_cloud_api_secret"],
    ),
    ("clojars-api-token", &["clojars_token"]),
    ("cloudflare-origin-ca-key", &["cloudflare_origin_ca_key"]),
    ("databricks-api-token", &["databricks_token"]),
    (
        "defined-networking-api-token",
        &["defined_networking_token"],
    ),
    ("digitalocean-access-token", &["digitalocean_token"]),
    ("digitalocean-pat", &["digitalocean_token"]),
    ("digitalocean-refresh-token", &["digitalocean_token"]),
    ("doppler-api-token", &["doppler_token"]),
    (
        "dropbox-short-lived-api-token",
        &["dropbox_short_lived_token"],
    ),
    ("duffel-api-token", &["duffel_token"]),
    ("dynatrace-api-token", &["dynatrace_token"]),
    ("easypost-api-token", &["easypost_api_key"]),
    ("easypost-test-api-token", &["easypost_api_key"]),
    ("facebook-page-access-token", &["meta_page_access_token"]),
    (
        "flutterwave-encryption-key",
        &["flutterwave_encryption_key"],
    ),
    ("flutterwave-public-key", &["flutterwave_public_key"]),
    ("flutterwave-secret-key", &["flutterwave_secret_key"]),
    ("flyio-access-token", &["flyio_token", "flyio_macaroon"]),
    ("frameio-api-token", &["frameio_token"]),
    ("gcp-api-key", &["google_api_key"]),
    ("generic-api-key", &["generic_secret"]),
    ("github-app-token", &["github_token"]),
    ("github-fine-grained-pat", &["github_token"]),
    ("github-oauth", &["github_token"]),
    ("github-pat", &["github_token"]),
    ("github-refresh-token", &["github_token"]),
    ("gitlab-cicd-job-token", &["gitlab_token"]),
    ("gitlab-deploy-token", &["gitlab_token"]),
    ("gitlab-feature-flag-client-token", &["gitlab_token"]),
    ("gitlab-feed-token", &["gitlab_token"]),
    ("gitlab-incoming-mail-token", &["gitlab_token"]),
    ("gitlab-kubernetes-agent-token", &["gitlab_token"]),
    ("gitlab-oauth-app-secret", &["gitlab_token"]),
    ("gitlab-pat", &["gitlab_token"]),
    ("gitlab-pat-routable", &["gitlab_token"]),
    ("gitlab-ptt", &["gitlab_token"]),
    ("gitlab-rrt", &["gitlab_token"]),
    ("gitlab-runner-authentication-token", &["gitlab_token"]),
    (
        "gitlab-runner-authentication-token-routable",
        &["gitlab_token"],
    ),
    ("gitlab-scim-token", &["gitlab_token"]),
    ("gitlab-session-cookie", &["gitlab_session_cookie"]),
    ("gocardless-api-token", &["gocardless_access_token"]),
    ("grafana-api-key", &["grafana_api_key"]),
    ("grafana-cloud-api-token", &["grafana_cloud_token"]),
    (
        "grafana-service-account-token",
        &["grafana_service_account_token"],
    ),
    ("harness-api-key", &["harness_token"]),
    ("hashicorp-tf-api-token", &["terraform_cloud_token"]),
    ("heroku-api-key-v2", &["heroku_api_key"]),
    ("huggingface-access-token", &["huggingface_token"]),
    ("huggingface-organization-api-token", &["huggingface_token"]),
    ("infracost-api-token", &["infracost_api_key"]),
    ("intra42-client-secret", &["intra42_client_secret"]),
    ("jwt", &["jwt"]),
    ("linear-api-key", &["linear_api_key"]),
    ("lob-api-key", &["lob_api_key"]),
    ("lob-pub-api-key", &["lob_publishable_key"]),
    ("mailchimp-api-key", &["mailchimp_api_key"]),
    ("mailgun-private-api-token", &["mailgun_api_key"]),
    ("mailgun-pub-key", &["mailgun_public_key"]),
    ("mapbox-api-token", &["mapbox_public_token"]),
    ("maxmind-license-key", &["maxmind_license_key"]),
    ("microsoft-teams-webhook", &["teams_webhook"]),
    ("new-relic-browser-api-token", &["newrelic_browser_key"]),
    ("new-relic-insert-key", &["newrelic_insert_key"]),
    ("new-relic-user-api-key", &["newrelic_user_api_key"]),
    ("notion-api-token", &["notion_token"]),
    ("npm-access-token", &["npm_token"]),
    ("octopus-deploy-api-key", &["octopus_deploy_api_key"]),
    ("openai-api-key", &["openai_api_key"]),
    ("openshift-user-token", &["openshift_token"]),
    ("perplexity-api-key", &["perplexity_api_key"]),
    ("plaid-api-token", &["plaid_access_token"]),
    ("planetscale-api-token", &["planetscale_token"]),
    ("planetscale-oauth-token", &["planetscale_token"]),
    ("planetscale-password", &["planetscale_token"]),
    ("postman-api-token", &["postman_api_key"]),
    ("prefect-api-token", &["prefect_api_key"]),
    ("private-key", &["private_key"]),
    ("pulumi-api-token", &["pulumi_token"]),
    ("pypi-upload-token", &["pypi_token"]),
    ("readme-api-token", &["readme_api_key"]),
    ("rubygems-api-token", &["rubygems_api_key"]),
    ("scalingo-api-token", &["scalingo_token"]),
    ("sendgrid-api-token", &["sendgrid_key"]),
    ("sendinblue-api-token", &["brevo_api_key"]),
    ("sentry-org-token", &["sentry_org_token"]),
    ("sentry-user-token", &["sentry_user_token"]),
    ("settlemint-application-access-token", &["settlemint_token"]),
    ("settlemint-personal-access-token", &["settlemint_token"]),
    ("settlemint-service-access-token", &["settlemint_token"]),
    ("shippo-api-token", &["shippo_token"]),
    ("shopify-access-token", &["shopify_token"]),
    ("shopify-custom-access-token", &["shopify_token"]),
    ("shopify-private-app-access-token", &["shopify_token"]),
    ("shopify-shared-secret", &["shopify_token"]),
    ("sidekiq-secret", &["sidekiq_credentials"]),
    ("sidekiq-sensitive-url", &["url_password"]),
    ("slack-app-token", &["slack_token"]),
    ("slack-bot-token", &["slack_token"]),
    ("slack-config-access-token", &["slack_token"]),
    ("slack-config-refresh-token", &["slack_token"]),
    ("slack-legacy-bot-token", &["slack_token"]),
    ("slack-legacy-token", &["slack_token"]),
    ("slack-legacy-workspace-token", &["slack_token"]),
    ("slack-user-token", &["slack_token"]),
    ("slack-webhook-url", &["slack_token"]),
    ("sourcegraph-access-token", &["sourcegraph_token"]),
    (
        "square-access-token",
        &["square_access_token", "square_legacy_token"],
    ),
    ("stripe-access-token", &["stripe_key"]),
    ("telegram-bot-api-token", &["telegram_bot_token"]),
    ("twitter-bearer-token", &["twitter_bearer_token"]),
    ("typeform-api-token", &["typeform_pat"]),
    ("vault-batch-token", &["vault_batch_token"]),
    (
        "vault-service-token",
        &["vault_service_token", "vault_legacy_token"],
    ),
    ("yandex-access-token", &["yandex_iam_token"]),
    ("yandex-api-key", &["yandex_api_key"]),
    // Provider-keyword rules (`src/keywords.rs`).
    ("adafruit-api-key", &["adafruit_api_key"]),
    ("airtable-api-key", &["airtable_api_key"]),
    ("algolia-api-key", &["algolia_api_key"]),
    ("alibaba-secret-key", &["alibaba_secret_key"]),
    ("asana-client-secret", &["asana_client_secret"]),
    ("beamer-api-token", &["beamer_api_token"]),
    ("bitbucket-client-secret", &["bitbucket_client_secret"]),
    ("bittrex-access-key", &["bittrex_key"]),
    ("bittrex-secret-key", &["bittrex_key"]),
    ("cisco-meraki-api-key", &["cisco_meraki_api_key"]),
    ("cloudflare-api-key", &["cloudflare_api_key"]),
    ("cloudflare-global-api-key", &["cloudflare_global_api_key"]),
    ("codecov-access-token", &["codecov_access_token"]),
    ("cohere-api-token", &["cohere_api_token"]),
    ("coinbase-access-token", &["coinbase_access_token"]),
    ("confluent-access-token", &["confluent_access_token"]),
    ("confluent-secret-key", &["confluent_secret_key"]),
    (
        "contentful-delivery-api-token",
        &["contentful_delivery_token"],
    ),
    (
        "datadog-access-token",
        &["datadog_access_token", "datadog_api_key"],
    ),
    ("discord-api-token", &["discord_api_token"]),
    ("discord-client-secret", &["discord_client_secret"]),
    ("droneci-access-token", &["droneci_access_token"]),
    ("dropbox-api-token", &["dropbox_api_token"]),
    (
        "dropbox-long-lived-api-token",
        &["dropbox_long_lived_token"],
    ),
    ("etsy-access-token", &["etsy_access_token"]),
    ("facebook-access-token", &["facebook_app_access_token"]),
    ("facebook-secret", &["facebook_secret"]),
    ("fastly-api-token", &["fastly_api_token"]),
    ("finicity-api-token", &["finicity_api_token"]),
    ("finicity-client-secret", &["finicity_client_secret"]),
    ("finnhub-access-token", &["finnhub_access_token"]),
    ("flickr-access-token", &["flickr_access_token"]),
    ("freshbooks-access-token", &["freshbooks_access_token"]),
    ("gitter-access-token", &["gitter_access_token"]),
    ("heroku-api-key", &["heroku_api_key_legacy"]),
    ("hubspot-api-key", &["hubspot_api_key"]),
    ("intercom-api-key", &["intercom_api_key"]),
    ("jfrog-api-key", &["jfrog_api_key_legacy"]),
    ("jfrog-identity-token", &["jfrog_identity_token"]),
    ("kraken-access-token", &["kraken_access_token"]),
    ("kucoin-access-token", &["kucoin_access_token"]),
    ("kucoin-secret-key", &["kucoin_secret_key"]),
    ("launchdarkly-access-token", &["launchdarkly_access_token"]),
    ("linear-client-secret", &["linear_client_secret"]),
    ("linkedin-client-secret", &["linkedin_client_secret"]),
    ("looker-client-secret", &["looker_client_secret"]),
    ("mailgun-signing-key", &["mailgun_signing_key"]),
    ("mattermost-access-token", &["mattermost_access_token"]),
    ("messagebird-api-token", &["messagebird_api_token"]),
    ("netlify-access-token", &["netlify_access_token"]),
    ("new-relic-user-api-id", &["newrelic_user_api_id"]),
    ("nytimes-access-token", &["nytimes_access_token"]),
    ("okta-access-token", &["okta_access_token"]),
    ("plaid-secret-key", &["plaid_secret_key"]),
    ("privateai-api-token", &["privateai_api_token"]),
    ("rapidapi-access-token", &["rapidapi_access_token"]),
    ("sendbird-access-token", &["sendbird_access_token"]),
    ("sentry-access-token", &["sentry_access_token"]),
    ("snyk-api-token", &["snyk_api_token"]),
    ("sonar-api-token", &["sonar_api_token"]),
    ("squarespace-access-token", &["squarespace_access_token"]),
    ("sumologic-access-token", &["sumologic_access_token"]),
    ("travisci-access-token", &["travisci_access_token"]),
    ("twilio-api-key", &["twilio_api_key"]),
    ("twitch-api-token", &["twitch_api_token"]),
    ("twitter-access-secret", &["twitter_access_secret"]),
    ("twitter-access-token", &["twitter_access_token"]),
    ("twitter-api-key", &["twitter_api_key"]),
    ("twitter-api-secret", &["twitter_api_secret"]),
    ("yandex-aws-access-token", &["yandex_aws_access_token"]),
    ("zendesk-secret-key", &["zendesk_secret_key"]),
];

/// The built-in detectors a `disabledRules` entry names: itself (a family id or a kind's
/// name), or what covers the gitleaks default rule of that id. Other names name nothing here
/// (a rule of the file's base, or a gitleaks rule no built-in detector covers).
pub(crate) fn built_in_names(name: &str) -> Vec<&str> {
    let mut out = vec![name];
    if let Some((_, covered)) = DEFAULT_RULES.iter().find(|(id, _)| *id == name) {
        out.extend_from_slice(covered);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::DEFAULT_RULES;
    use crate::{families::FAMILIES, kind::Kind};

    #[test]
    fn every_mapped_default_rule_names_built_in_detectors_and_is_documented() {
        let readme = include_str!("../README.md");
        for (id, covered) in DEFAULT_RULES {
            for name in *covered {
                assert!(
                    FAMILIES.iter().any(|f| f.id == *name)
                        || crate::keywords::RULES.iter().any(|r| r.id == *name)
                        || Kind::BUILT_IN.iter().any(|k| k.as_str() == *name),
                    "{id} -> {name}"
                );
            }
            let family = id.rsplit_once('-').map_or(*id, |(head, _)| head);
            let listed = readme.contains(&format!("`{id}`"))
                || (1..id.len()).any(|n| {
                    id.is_char_boundary(n)
                        && id[..n].ends_with('-')
                        && readme.contains(&format!("`{}*`", &id[..n]))
                });
            assert!(
                listed,
                "{id} ({family}) is not in the README's coverage table"
            );
        }
    }
}
