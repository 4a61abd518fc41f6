//! `--kek ADDRESS` on the keyring commands: a local master key file (`file:`) and, with the
//! `vault` feature, a Vault Transit key (`vault-transit:`) served by a small HTTP server that
//! answers as Vault's API documentation says (palisade-secrets' test server), not a live Vault.

mod common;

use common::{Scratch, run};

const MASTER: &str = "q8bJmV5c3k8oZ0Q4m2m2b0qzv5b2VQx9l6l3mJ8m3Yc=";
const OTHER_MASTER: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// `keyring new`, `list` and `rotate` of `orders.pck` in `s` under `kek`, none showing
/// `secret`; then the binding to the keyring's name: the same bytes copied under another name
/// do not open, and open with `--keyring-name orders.pck`. Returns the keyring's path.
#[cfg(any(feature = "vault", feature = "aws"))]
fn assert_kek_round_trip(s: &Scratch, kek: &str, env: &[(&str, &str)], secret: &str) -> String {
    use common::run_env;
    let file = s.join("orders.pck");
    let r = run_env(&["keyring", "new", &file, "--kek", kek], b"", env);
    let id = r
        .expect_code(0)
        .never_shows(secret.as_bytes())
        .stdout_str()
        .trim()
        .to_owned();
    let listed = run_env(&["keyring", "list", &file, "--kek", kek], b"", env);
    let listing = listed
        .expect_code(0)
        .never_shows(secret.as_bytes())
        .stdout_str();
    assert!(listing.starts_with(&id), "{listing}");
    run_env(&["keyring", "rotate", &file, "--kek", kek], b"", env)
        .expect_code(0)
        .never_shows(secret.as_bytes());

    let copy = s.join("billing.pck");
    std::fs::copy(&file, &copy).unwrap();
    let r = run_env(&["keyring", "list", &copy, "--kek", kek], b"", env);
    assert_ne!(r.code, 0, "{}", r.stderr);
    let renamed = [
        "keyring",
        "list",
        &copy,
        "--kek",
        kek,
        "--keyring-name",
        "orders.pck",
    ];
    run_env(&renamed, b"", env).expect_code(0);
    file
}

#[test]
fn a_file_kek_seals_and_opens_like_the_master_key_file() {
    let s = Scratch::new("kek-file");
    let master = s.file("master.key", MASTER.as_bytes());
    let other = s.file("other.key", OTHER_MASTER.as_bytes());
    let file = s.join("keys.pck");
    let kek = format!("file:{master}");

    let created = run(&["keyring", "new", &file, "--kek", &kek], b"");
    created.expect_code(0).never_shows(MASTER.as_bytes());
    let id = created.stdout_str().trim().to_owned();
    // The same key given either way opens it.
    let listed = run(
        &["keyring", "list", &file, "--master-key-file", &master],
        b"",
    );
    assert!(listed.expect_code(0).stdout_str().starts_with(&id));
    let ct = run(
        &[
            "encrypt",
            "--keyring",
            &file,
            "--context",
            "users.email",
            "--kek",
            &kek,
        ],
        b"alice@example.com",
    );
    let ct = ct.expect_code(0).stdout_str();
    let pt = run(
        &[
            "decrypt",
            "--keyring",
            &file,
            "--context",
            "users.email",
            "--kek",
            &kek,
        ],
        ct.as_bytes(),
    );
    assert_eq!(pt.expect_code(0).stdout, b"alice@example.com");
    // Another key does not.
    let wrong = run(
        &["keyring", "list", &file, "--kek", &format!("file:{other}")],
        b"",
    );
    assert_ne!(wrong.code, 0);
}

#[test]
fn malformed_or_conflicting_kek_options_are_usage_errors() {
    let s = Scratch::new("kek-usage");
    let master = s.file("master.key", MASTER.as_bytes());
    let file = s.join("keys.pck");
    for kek in [
        "master.key",
        "file:relative.key",
        "vault-transit:palisade",
        "aws-kms:alias/palisade",
    ] {
        let r = run(&["keyring", "new", &file, "--kek", kek], b"");
        r.expect_code(2);
        assert!(r.stderr.contains("--kek"), "{}", r.stderr);
    }
    // --kek and --master-key-file together: clap refuses.
    let both = run(
        &[
            "keyring",
            "new",
            &file,
            "--kek",
            &format!("file:{master}"),
            "--master-key-file",
            &master,
        ],
        b"",
    );
    assert_eq!(both.code, 2, "{}", both.stderr);
    assert!(!std::path::Path::new(&file).exists());
}

#[cfg(not(feature = "vault"))]
#[test]
fn vault_transit_without_the_feature_says_so() {
    let s = Scratch::new("kek-nofeature");
    let r = run(
        &[
            "keyring",
            "new",
            &s.join("keys.pck"),
            "--kek",
            "vault-transit:transit/palisade",
        ],
        b"",
    );
    r.expect_code(2);
    assert!(r.stderr.contains("`vault` feature"), "{}", r.stderr);
}

#[cfg(feature = "vault")]
#[path = "../../palisade-secrets/tests/support/fake_vault.rs"]
#[allow(dead_code)]
mod fake_vault;

#[cfg(feature = "vault")]
mod vault {
    use super::{Scratch, fake_vault};
    use crate::common::run_env;

    /// A fake Vault on its own runtime thread (the command under test is a separate process).
    fn start() -> (String, tokio::runtime::Runtime) {
        let (vault, runtime) = fake_vault::FakeVault::start_on_own_runtime();
        let url = vault.url();
        // Kept alive with the runtime; its tasks stop when the runtime is dropped.
        std::mem::forget(vault);
        (url, runtime)
    }

    #[test]
    fn secrets_check_reads_vault_addresses_with_their_kv_version() {
        let (vault, _runtime) = fake_vault::FakeVault::start_on_own_runtime();
        vault.put(
            "secret/app",
            serde_json::json!({"password": "first-app-password"}),
        );
        vault.put(
            "secret/app",
            serde_json::json!({"password": "second-app-password"}),
        );
        let url = vault.url();
        let env = [
            ("VAULT_ADDR", url.as_str()),
            ("VAULT_TOKEN", fake_vault::TOKEN),
        ];
        let r = run_env(
            &[
                "secrets",
                "check",
                "vault:secret/app#password",
                "vault:secret/app?version=1#password",
                "vault:secret/nothing#password",
            ],
            b"",
            &env,
        );
        r.expect_code(1)
            .never_shows(b"first-app-password")
            .never_shows(b"second-app-password")
            .never_shows(fake_vault::TOKEN.as_bytes());
        let out = r.stdout_str();
        assert!(out.contains("address 1: ok, 19 bytes, version 2"), "{out}");
        assert!(out.contains("address 2: ok, 18 bytes, version 1"), "{out}");
        assert!(out.contains("address 3: not found"), "{out}");
        drop(vault);
    }

    #[test]
    fn a_keyring_sealed_by_vault_transit_round_trips() {
        let (url, _runtime) = start();
        let env = [
            ("VAULT_ADDR", url.as_str()),
            ("VAULT_TOKEN", fake_vault::TOKEN),
        ];
        let s = Scratch::new("kek-vault");
        let kek = "vault-transit:transit/palisade";
        let file = super::assert_kek_round_trip(&s, kek, &env, fake_vault::TOKEN);
        let sealed = std::fs::read(&file).unwrap();
        assert!(
            sealed.windows(9).any(|w| w == b"vault:v1:"),
            "sealed by Transit"
        );

        // The master key does not open it, and a wrong token is refused.
        let r = run_env(
            &["keyring", "list", &file],
            b"",
            &[("PALISADE_MASTER_KEY", super::MASTER)],
        );
        assert_ne!(r.code, 0);
        let wrong = [("VAULT_ADDR", url.as_str()), ("VAULT_TOKEN", "hvs.wrong")];
        let r = run_env(&["keyring", "list", &file, "--kek", kek], b"", &wrong);
        assert_ne!(r.code, 0);
        assert!(r.stderr.contains("denied"), "{}", r.stderr);
    }

    #[test]
    fn a_vault_address_off_loopback_in_clear_text_is_refused() {
        let s = Scratch::new("kek-vault-addr");
        let env = [
            ("VAULT_ADDR", "http://vault.example:8200"),
            ("VAULT_TOKEN", "hvs.x"),
        ];
        let r = run_env(
            &[
                "keyring",
                "new",
                &s.join("k.pck"),
                "--kek",
                "vault-transit:transit/palisade",
            ],
            b"",
            &env,
        );
        r.expect_code(2);
        assert!(r.stderr.contains("https://"), "{}", r.stderr);
    }
}

#[cfg(not(feature = "aws"))]
#[test]
fn aws_kms_without_the_feature_says_so() {
    let s = Scratch::new("kek-noaws");
    let r = run(
        &[
            "keyring",
            "new",
            &s.join("keys.pck"),
            "--kek",
            "aws-kms:alias/palisade",
        ],
        b"",
    );
    r.expect_code(2);
    assert!(r.stderr.contains("`aws` feature"), "{}", r.stderr);
}

#[cfg(feature = "aws")]
mod aws {
    use aws_config::{BehaviorVersion, Region};
    use aws_sdk_kms::config::Credentials;
    use palisade_testkit::MotoServer;

    use super::Scratch;
    use crate::common::run_env;

    /// A moto server with a KMS key under the alias `alias/palisade-keyrings`.
    fn moto_with_key() -> MotoServer {
        let moto = MotoServer::start()
            .expect("moto_server is needed for these tests (.ci/run installs it)");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let config = aws_config::defaults(BehaviorVersion::latest())
                .endpoint_url(moto.endpoint_url())
                .region(Region::new("us-east-1"))
                .credentials_provider(Credentials::new("testing", "testing", None, None, "t"))
                .load()
                .await;
            let kms = aws_sdk_kms::Client::new(&config);
            let key = kms.create_key().send().await.unwrap();
            let key_id = key.key_metadata().unwrap().key_id().to_owned();
            kms.create_alias()
                .alias_name("alias/palisade-keyrings")
                .target_key_id(key_id)
                .send()
                .await
                .unwrap();
        });
        moto
    }

    #[test]
    fn a_keyring_sealed_by_aws_kms_round_trips_and_is_bound_to_its_name() {
        let moto = moto_with_key();
        let endpoint = moto.endpoint_url();
        // The SDK's standard environment: the command has no AWS options of its own.
        let env = [
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ];
        let s = Scratch::new("kek-aws");
        let kek = "aws-kms:alias/palisade-keyrings";
        // Bound to the keyring's name through the encryption context.
        super::assert_kek_round_trip(&s, kek, &env, "testing");
        // An unknown key is refused, without a keyring written.
        let missing = s.join("missing.pck");
        let r = run_env(
            &["keyring", "new", &missing, "--kek", "aws-kms:alias/nothing"],
            b"",
            &env,
        );
        assert_ne!(r.code, 0, "{}", r.stderr);
        assert!(!std::path::Path::new(&missing).exists());
    }
}
