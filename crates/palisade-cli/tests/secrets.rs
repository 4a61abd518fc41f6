//! `palisade secrets check`: each address resolves or says why not, by position, with its
//! size and version and never its value; exit 0 when all resolve, 1 when one does not, 2
//! for a malformed address.

mod common;

use common::{Scratch, run_env};

const VALUE: &[u8] = b"s3cret-value-that-must-never-be-printed";

#[cfg(unix)]
fn chmod(path: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[cfg(unix)]
#[test]
fn resolvable_addresses_report_size_and_version_never_the_value() {
    let scratch = Scratch::new("secrets-ok");
    let file = scratch.file("db-password", &[VALUE, b"\n"].concat());
    chmod(&file, 0o600);
    let credentials = scratch.join("credentials");
    std::fs::create_dir_all(&credentials).expect("dir");
    let credential = format!("{credentials}/jwt");
    std::fs::write(&credential, VALUE).expect("credential");
    chmod(&credential, 0o400);
    let file_address = format!("file:{file}");
    let r = run_env(
        &[
            "secrets",
            "check",
            "env:APP_SECRET",
            &file_address,
            "systemd:jwt",
        ],
        b"",
        &[
            ("APP_SECRET", "from-the-environment"),
            ("CREDENTIALS_DIRECTORY", &credentials),
        ],
    );
    r.expect_code(0).never_shows(VALUE);
    assert!(!r.stdout_str().contains("from-the-environment"));
    let lines: Vec<String> = r.stdout_str().lines().map(str::to_owned).collect();
    assert_eq!(lines[0], "address 1: ok, 20 bytes");
    assert!(
        lines[1].starts_with(&format!("address 2: ok, {} bytes, version ", VALUE.len())),
        "{lines:?}"
    );
    assert!(lines[2].starts_with("address 3: ok, "), "{lines:?}");
}

#[cfg(unix)]
#[test]
fn unresolvable_addresses_say_why_and_exit_1() {
    let scratch = Scratch::new("secrets-bad");
    let loose = scratch.file("loose", VALUE);
    chmod(&loose, 0o644);
    let loose_address = format!("file:{loose}");
    let dir_address = format!("file:{}", scratch.path().display());
    let r = run_env(
        &[
            "secrets",
            "check",
            &loose_address,
            "env:NOT_SET_ANYWHERE",
            &dir_address,
        ],
        b"",
        &[],
    );
    r.expect_code(1).never_shows(VALUE);
    let out = r.stdout_str();
    assert!(
        out.contains("address 1: readable or writable by group or others"),
        "{out}"
    );
    assert!(out.contains("address 2: not found"), "{out}");
    assert!(out.contains("address 3: not a regular file"), "{out}");
    assert!(r.stderr.contains("3 of 3 addresses do not resolve"));
}

#[test]
fn a_malformed_address_is_a_usage_error_that_does_not_echo_it() {
    for text in [
        "hunter2",
        "ENV:hunter2",
        "file:relative/hunter2",
        "env:hunter-2",
    ] {
        let r = run_env(&["secrets", "check", "env:HOME", text], b"", &[]);
        r.expect_code(2).never_shows(b"hunter");
        assert!(r.stderr.contains("address 2"), "{}", r.stderr);
        assert!(
            r.stdout.is_empty(),
            "nothing is read before every address parses"
        );
    }
    run_env(&["secrets", "check"], b"", &[]).expect_code(2);
}

#[cfg(not(feature = "aws"))]
#[test]
fn a_remote_address_without_its_feature_says_so() {
    let r = run_env(&["secrets", "check", "aws-sm:prod/db"], b"", &[]);
    r.expect_code(1);
    assert!(
        r.stdout_str().contains("`aws` feature"),
        "{}",
        r.stdout_str()
    );
}

#[cfg(feature = "aws")]
#[test]
fn aws_sm_addresses_resolve_with_size_and_version_and_never_the_value() {
    use aws_config::{BehaviorVersion, Region};
    use aws_sdk_secretsmanager::config::Credentials;

    let moto = palisade_testkit::MotoServer::start()
        .expect("moto_server is needed for these tests (.ci/run installs it)");
    let endpoint = moto.endpoint_url();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let version = runtime.block_on(async {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "t"))
            .load()
            .await;
        aws_sdk_secretsmanager::Client::new(&config)
            .create_secret()
            .name("prod/db")
            .secret_string(r#"{"password":"a-db-password-of-24-bytes"}"#)
            .send()
            .await
            .unwrap()
            .version_id()
            .unwrap()
            .to_owned()
    });
    let env = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let r = run_env(
        &[
            "secrets",
            "check",
            "aws-sm:prod/db#password",
            "aws-sm:prod/missing",
        ],
        b"",
        &env,
    );
    r.expect_code(1).never_shows(b"a-db-password-of-24-bytes");
    let out = r.stdout_str();
    assert!(
        out.contains(&format!("address 1: ok, 25 bytes, version {version}")),
        "{out}"
    );
    assert!(out.contains("address 2: not found"), "{out}");
}
