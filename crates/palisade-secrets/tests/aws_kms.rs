//! `AwsKmsKek` against a real moto server: wrap and unwrap through KMS Encrypt/Decrypt with an
//! encryption context naming the keyring, a wrong context or key refused, altered blobs
//! refused, and palisade-crypt keyrings sealed and opened with it.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::panic)]

use aws_config::{BehaviorVersion, Region, SdkConfig, retry::RetryConfig};
use aws_sdk_kms::config::Credentials;
use palisade_crypt::{KekError, KeyEncryptionKey, Keyring, KeyringError};
use palisade_secrets::AwsKmsKek;
use palisade_testkit::MotoServer;

/// A moto server, an SDK configuration for it and the id of a fresh KMS key with the alias
/// `alias/palisade-test`. The runtime that loaded the configuration is gone when this returns:
/// the key-encryption key must not depend on it.
fn setup() -> (MotoServer, SdkConfig, String) {
    let moto =
        MotoServer::start().expect("moto_server is needed for these tests (.ci/run installs it)");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (config, key_id) = runtime.block_on(async {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(moto.endpoint_url())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(
                "testing",
                "testing",
                None,
                None,
                "palisade-tests",
            ))
            .retry_config(RetryConfig::standard().with_max_attempts(1))
            .load()
            .await;
        let kms = aws_sdk_kms::Client::new(&config);
        let key = kms.create_key().send().await.unwrap();
        let key_id = key.key_metadata().unwrap().key_id().to_owned();
        kms.create_alias()
            .alias_name("alias/palisade-test")
            .target_key_id(&key_id)
            .send()
            .await
            .unwrap();
        (config, key_id)
    });
    (moto, config, key_id)
}

const KEYRING_BYTES: &[u8] = b"keyring plaintext: three AES keys and their states";

#[test]
fn wraps_and_unwraps_through_kms_with_the_keyring_in_the_context() {
    let (_moto, config, key_id) = setup();
    let kek = AwsKmsKek::new(&config, &key_id, "billing").unwrap();
    assert!(
        kek.key_arn().starts_with("arn:aws:kms:"),
        "{}",
        kek.key_arn()
    );
    assert!(kek.key_arn().ends_with(&key_id));
    assert_eq!(kek.keyring(), "billing");

    let wrapped = kek.wrap(KEYRING_BYTES, b"file header").unwrap();
    assert!(
        !wrapped
            .windows(KEYRING_BYTES.len())
            .any(|w| w == KEYRING_BYTES)
    );
    let unwrapped = kek.unwrap(&wrapped, b"file header").unwrap();
    assert_eq!(unwrapped.as_slice(), KEYRING_BYTES);
    // Two wraps of the same bytes differ (a fresh data key each time).
    assert_ne!(kek.wrap(KEYRING_BYTES, b"file header").unwrap(), wrapped);

    // The alias resolves to the same key: same ARN, same key check, and it unwraps.
    let by_alias = AwsKmsKek::new(&config, "alias/palisade-test", "billing").unwrap();
    assert_eq!(by_alias.key_arn(), kek.key_arn());
    assert_eq!(by_alias.key_check(), kek.key_check());
    assert_eq!(
        by_alias
            .unwrap(&wrapped, b"file header")
            .unwrap()
            .as_slice(),
        KEYRING_BYTES
    );
    // The Debug form names the key and keyring only.
    assert!(format!("{kek:?}").contains("billing"));
}

#[test]
fn a_wrong_encryption_context_is_refused_by_kms() {
    let (_moto, config, key_id) = setup();
    let billing = AwsKmsKek::new(&config, &key_id, "billing").unwrap();
    let payroll = AwsKmsKek::new(&config, &key_id, "payroll").unwrap();
    assert_ne!(billing.key_check(), payroll.key_check());
    let wrapped = billing.wrap(KEYRING_BYTES, b"header").unwrap();
    // Same KMS key, another keyring name in the context: KMS refuses to decrypt.
    assert!(matches!(
        payroll.unwrap(&wrapped, b"header"),
        Err(KekError::Unwrap)
    ));
}

#[test]
fn another_key_altered_blobs_and_altered_headers_are_refused() {
    let (_moto, config, key_id) = setup();
    let kek = AwsKmsKek::new(&config, &key_id, "billing").unwrap();
    let other_key = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let kms = aws_sdk_kms::Client::new(&config);
            let key = kms.create_key().send().await.unwrap();
            key.key_metadata().unwrap().key_id().to_owned()
        });
    let other = AwsKmsKek::new(&config, &other_key, "billing").unwrap();
    let wrapped = kek.wrap(KEYRING_BYTES, b"header").unwrap();
    // Refused. AWS answers `IncorrectKeyException` (mapped to `Unwrap`); moto answers
    // `AccessDeniedException`, which stays a service error naming the code.
    let answer = other.unwrap(&wrapped, b"header");
    assert!(
        matches!(&answer, Err(KekError::Unwrap))
            || matches!(&answer, Err(KekError::Service(m)) if m.contains("AccessDenied")),
        "{answer:?}"
    );
    // At the keyring level the key check tells the keys apart before KMS is asked.
    assert_ne!(other.key_check(), kek.key_check());
    // The sealed keyring's associated data (the file header) is checked.
    assert!(matches!(
        kek.unwrap(&wrapped, b"HEADER"),
        Err(KekError::Unwrap)
    ));
    // A flipped byte in the KMS blob, in the sealed part, a cut, a wrong magic.
    // The KMS blob follows the 4-byte magic and its 2-byte length; its last byte is in the
    // blob's authentication tag.
    let blob_len = usize::from(u16::from_be_bytes([wrapped[4], wrapped[5]]));
    let mut in_blob = wrapped.clone();
    in_blob[6 + blob_len - 1] ^= 1;
    let mut in_sealed = wrapped.clone();
    *in_sealed.last_mut().unwrap() ^= 1;
    let mut bad_magic = wrapped.clone();
    bad_magic[0] ^= 1;
    for altered in [
        in_blob,
        in_sealed,
        bad_magic,
        wrapped[..wrapped.len() / 2].to_vec(),
        wrapped[..5].to_vec(),
        Vec::new(),
    ] {
        let answer = kek.unwrap(&altered, b"header");
        assert!(
            matches!(answer, Err(KekError::Unwrap)),
            "{} bytes: {answer:?}",
            altered.len()
        );
    }
}

#[test]
fn a_palisade_crypt_keyring_is_sealed_and_opened_by_the_kms_key() {
    let (_moto, config, key_id) = setup();
    let kek = AwsKmsKek::new(&config, &key_id, "billing").unwrap();
    let keyring = Keyring::generate().unwrap();
    let sealed = keyring.seal(&kek).unwrap();
    let opened = Keyring::open(&sealed, &kek).unwrap();
    assert_eq!(opened.seal(&kek).map(|_| ()).ok(), Some(()));
    assert_eq!(
        format!("{:?}", opened.keys().collect::<Vec<_>>()),
        format!("{:?}", keyring.keys().collect::<Vec<_>>())
    );
    // The key of another keyring name is reported as the wrong key, before KMS is asked.
    let payroll = AwsKmsKek::new(&config, &key_id, "payroll").unwrap();
    assert!(matches!(
        Keyring::open(&sealed, &payroll),
        Err(KeyringError::WrongMasterKey)
    ));
}

#[tokio::test]
async fn usable_from_inside_a_current_thread_runtime() {
    let (_moto, config, key_id) = tokio::task::spawn_blocking(setup).await.unwrap();
    // Construction and calls on this runtime's only thread: the KMS calls run on the key's
    // own thread, so nothing here waits on this runtime.
    let kek = AwsKmsKek::new(&config, &key_id, "billing").unwrap();
    let wrapped = kek.wrap(KEYRING_BYTES, b"h").unwrap();
    assert_eq!(
        kek.unwrap(&wrapped, b"h").unwrap().as_slice(),
        KEYRING_BYTES
    );
}

#[test]
fn a_missing_key_or_an_unreachable_service_fails_at_construction() {
    let (mut moto, config, _key_id) = setup();
    let err = AwsKmsKek::new(&config, "alias/no-such-key", "billing").unwrap_err();
    assert!(
        matches!(&err, KekError::Service(m) if m.contains("DescribeKey")),
        "{err}"
    );
    moto.stop();
    let err = AwsKmsKek::new(&config, "alias/palisade-test", "billing").unwrap_err();
    assert!(
        matches!(&err, KekError::Service(m) if m.contains("cannot reach")),
        "{err}"
    );
}

#[test]
fn a_kms_that_never_answers_times_out() {
    // Accepts connections and never answers.
    let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(1).collect();
        std::thread::sleep(std::time::Duration::from_secs(5));
        drop(held);
    });
    let config = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .endpoint_url(format!("http://127.0.0.1:{port}"))
                .region(Region::new("us-east-1"))
                .credentials_provider(Credentials::new("testing", "testing", None, None, "t"))
                .retry_config(RetryConfig::standard().with_max_attempts(1))
                .timeout_config(
                    aws_config::timeout::TimeoutConfig::builder()
                        .operation_timeout(std::time::Duration::from_millis(300))
                        .build(),
                )
                .load(),
        );
    let err = AwsKmsKek::new(&config, "alias/palisade-test", "billing").unwrap_err();
    assert!(
        matches!(&err, KekError::Service(m) if m.contains("timed out")),
        "{err}"
    );
}
