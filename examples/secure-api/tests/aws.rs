//! The service on AWS (feature `aws`), against a moto server started here: its keyring sealed
//! by an AWS KMS key (`PALISADE_KEYRING_KEK=aws-kms:...`), through start, `rotate-keys` and a
//! restart, and refused under another key or name; and its JWT key read from AWS Secrets
//! Manager (`PALISADE_JWT_KEY=aws-sm:...`), a new version taken up without a restart.
#![cfg(feature = "aws")]

mod common;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_kms::config::Credentials;
use common::{
    PASSWORD, SECRETS, Server, bearer, kid_in, kid_of, master_key_bytes, offline_command,
};
use palisade_crypt::{Keyring, MasterKey};
use palisade_testkit::MotoServer;
use serde_json::json;

const KEK: &str = "aws-kms:alias/secure-api-keyring";
const OTHER_KEK: &str = "aws-kms:alias/another-keyring";

fn moto() -> MotoServer {
    MotoServer::start().expect("moto_server is needed for these tests (.ci/run installs it)")
}

/// The SDK's standard environment: the service has no AWS settings of its own.
fn aws_env(moto: &MotoServer) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", moto.endpoint_url()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]
}

fn sdk(moto: &MotoServer) -> (tokio::runtime::Runtime, aws_config::SdkConfig) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = runtime.block_on(
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(moto.endpoint_url())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "t"))
            .load(),
    );
    (runtime, config)
}

/// Creates a KMS key under each alias.
fn kms_keys(moto: &MotoServer, aliases: &[&str]) {
    let (runtime, config) = sdk(moto);
    let kms = aws_sdk_kms::Client::new(&config);
    runtime.block_on(async {
        for alias in aliases {
            let key = kms.create_key().send().await.unwrap();
            let key_id = key.key_metadata().unwrap().key_id().to_owned();
            kms.create_alias()
                .alias_name(*alias)
                .target_key_id(key_id)
                .send()
                .await
                .unwrap();
        }
    });
}

fn with<'a>(
    env: &'a [(&'static str, String)],
    more: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    env.iter()
        .map(|(k, v)| (*k, v.as_str()))
        .chain(more.iter().copied())
        .collect()
}

fn me(server: &Server, access: &str) -> common::Response {
    server.get("/me", &[("Authorization", &bearer(access))])
}

fn access_token(login: &serde_json::Value) -> String {
    login["access_token"].as_str().unwrap().to_owned()
}

/// Whether `text` shows any of the test secrets.
fn shows_a_secret(text: &str) -> bool {
    SECRETS.iter().any(|(_, v)| text.contains(v))
}

/// The keyring sealed by AWS KMS: the service creates it, encrypts the profile under it,
/// `rotate-keys` adds a key and re-encrypts through the same KMS key, and the running service
/// and a restarted one read the profile back. No master key is configured at all, and the
/// local master key does not open the file.
#[test]
fn a_keyring_sealed_by_aws_kms_serves_rotates_and_restarts() {
    let moto = moto();
    kms_keys(&moto, &["alias/secure-api-keyring"]);
    let aws = aws_env(&moto);
    let dir = Server::temp_dir("aws-kms-keyring");
    // An empty value is removed from the environment: no master key.
    let env = with(
        &aws,
        &[("PALISADE_KEYRING_KEK", KEK), ("PALISADE_MASTER_KEY", "")],
    );
    let server = Server::start(&dir, &env);
    let login = server.account("kms@example.com", PASSWORD);
    let access = access_token(&login);
    let profile = json!({"phone": "+1 555 0142", "address": "42 Envelope Lane"});
    let r = server.put(
        "/me",
        &[("Authorization", &bearer(&access))],
        &profile.to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(me(&server, &access).json()["phone"], "+1 555 0142");

    // Not sealed by the local master key.
    let local = MasterKey::insecure_from_bytes(master_key_bytes());
    assert!(Keyring::load(dir.join("keyring"), &local).is_err());

    let out = offline_command(&dir, &["rotate-keys"], &env);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("rotate-keys finished"), "{stderr}");
    assert!(stderr.contains("remaining_on_old_keys=0"), "{stderr}");
    assert!(!shows_a_secret(&stderr), "{stderr}");

    // The running service learns the new key (a reload through KMS) and reads the rows.
    let read = me(&server, &access);
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.json()["phone"], "+1 555 0142");
    assert_eq!(read.json()["address"], "42 Envelope Lane");
    drop(server);

    let server = Server::start(&dir, &env);
    let login = server.login("kms@example.com", PASSWORD);
    assert_eq!(login.status, 200, "{}", login.body);
    let read = me(&server, &access_token(&login.json()));
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.json()["address"], "42 Envelope Lane");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same keyring file under another KMS key, under its own key but another name (the
/// encryption context binds the file's name), under the local master key, or with a KMS key
/// that does not exist: the service refuses to start, says why, and shows no secret.
#[test]
fn a_kms_sealed_keyring_refuses_another_key_or_name() {
    let moto = moto();
    kms_keys(
        &moto,
        &["alias/secure-api-keyring", "alias/another-keyring"],
    );
    let aws = aws_env(&moto);
    let dir = Server::temp_dir("aws-kms-refused");
    let env = with(&aws, &[("PALISADE_KEYRING_KEK", KEK)]);
    drop(Server::start(&dir, &env));
    let keyring = dir.join("keyring");
    let copy = dir.join("keyring-copy");
    std::fs::copy(&keyring, &copy).unwrap();
    let copy = copy.display().to_string();

    let refused = |extra: &[(&str, &str)], why: &str| {
        let env = with(&aws, extra);
        let log = Server::try_start(&dir, &env, &[])
            .err()
            .unwrap_or_else(|| panic!("started with {extra:?}"));
        assert!(log.contains("refusing to start"), "{log}");
        assert!(log.contains(why), "{why}: {log}");
        assert!(!shows_a_secret(&log), "{log}");
    };
    let wrong_key = "wrong master key";
    refused(&[("PALISADE_KEYRING_KEK", OTHER_KEK)], wrong_key);
    refused(
        &[("PALISADE_KEYRING_KEK", KEK), ("PALISADE_KEYRING", &copy)],
        wrong_key,
    );
    refused(&[], wrong_key);
    refused(
        &[("PALISADE_KEYRING_KEK", "aws-kms:alias/no-such-key")],
        "keyring_kek aws-kms:alias/no-such-key: AWS KMS",
    );
    refused(
        &[("PALISADE_KEYRING_KEK", "kms:alias/secure-api-keyring")],
        "invalid setting keyring_kek",
    );
    // The right key still opens it.
    drop(Server::start(&dir, &env));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The JWT key read from AWS Secrets Manager (`aws-sm:`): a new version put upstream is taken
/// up by the reload task (palisade-secrets' cache and change signal) without a restart; new
/// tokens carry the new key and tokens of the old one still verify.
#[test]
fn a_jwt_key_from_aws_secrets_manager_is_rotated_without_a_restart() {
    const NEW_KEY: &str = "7a6b5c4d3e2f10019f8e7d6c5b4a39281706f5e4d3c2b1a0918273645546372a";
    let moto = moto();
    let (runtime, config) = sdk(&moto);
    let sm = aws_sdk_secretsmanager::Client::new(&config);
    runtime.block_on(async {
        sm.create_secret()
            .name("secure-api/jwt")
            .secret_string(SECRETS[0].1)
            .send()
            .await
            .unwrap();
    });
    let aws = aws_env(&moto);
    let dir = Server::temp_dir("aws-sm-jwt");
    let env = with(
        &aws,
        &[
            ("PALISADE_JWT_KEY", "aws-sm:secure-api/jwt"),
            ("PALISADE_SECRETS_REFRESH_SECS", "1"),
        ],
    );
    let server = Server::start(&dir, &env);
    let login = server.account("sm@example.com", PASSWORD);
    let old = access_token(&login);
    assert_eq!(kid_in(&old), kid_of(&palisade_testkit::unhex(SECRETS[0].1)));

    runtime.block_on(async {
        sm.put_secret_value()
            .secret_id("secure-api/jwt")
            .secret_string(NEW_KEY)
            .send()
            .await
            .unwrap();
    });
    let new = server.login_until_signed_by("sm@example.com", PASSWORD, NEW_KEY);
    assert_eq!(me(&server, &new).status, 200);
    assert_eq!(
        me(&server, &old).status,
        200,
        "the old key verifies until its tokens expire"
    );
    let logs = server.logs();
    assert!(!logs.contains(NEW_KEY) && !shows_a_secret(&logs), "{logs}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A secret address naming a Secrets Manager secret that does not exist stops the start,
/// naming the secret and the address, never a value.
#[test]
fn a_missing_aws_secret_stops_the_start() {
    let moto = moto();
    let aws = aws_env(&moto);
    let dir = Server::temp_dir("aws-sm-missing");
    let env = with(&aws, &[("PALISADE_PEPPER", "aws-sm:secure-api/nothing")]);
    let log = Server::try_start(&dir, &env, &[])
        .err()
        .expect("started without its pepper");
    assert!(log.contains("refusing to start"), "{log}");
    assert!(log.contains("secret pepper"), "{log}");
    assert!(log.contains("aws-sm:secure-api/nothing"), "{log}");
    assert!(!shows_a_secret(&log), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}
