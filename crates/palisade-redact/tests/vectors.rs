//! Credentials made by independent implementations (see `vectors/generate.py`): every
//! `detect` record is found with its kind and removed in every context; every `ignore`
//! record (a broken checksum, a wrong length, a lookalike) leaves the text unchanged.

use palisade_redact::{Kind, Redactor};

fn kind_named(name: &str) -> Kind {
    Kind::BUILT_IN
        .into_iter()
        .find(|k| k.as_str() == name)
        .unwrap_or_else(|| panic!("unknown kind {name}"))
}

#[test]
fn generated_secrets() {
    let text = include_str!("vectors/secrets.txt");
    let redactor = Redactor::builder().enable_pii().build().unwrap();
    let (mut detected, mut ignored) = (0, 0);
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#'))
    {
        let fields: Vec<&str> = line.split('\t').collect();
        let [expect, kind, secret] = fields[..] else {
            panic!("line {}: {line}", n + 1);
        };
        let kind = kind_named(kind);
        for context in [
            secret.to_owned(),
            format!("error while calling upstream with {secret} (retrying)"),
            format!("cfg:{secret},next"),
            format!("{{\"note\":\"{secret}\"}}"),
        ] {
            let found = redactor.find(context.as_bytes());
            let redacted = redactor.redact(&context);
            match expect {
                "detect" => {
                    assert!(
                        !redacted.contains(secret),
                        "line {}: {context} -> {redacted}",
                        n + 1
                    );
                    assert!(
                        found.iter().any(|f| f.kind == kind),
                        "line {}: {context}: {found:?}",
                        n + 1
                    );
                }
                "ignore" => assert_eq!(redacted, context, "line {}", n + 1),
                other => panic!("line {}: expect {other}", n + 1),
            }
        }
        if expect == "detect" {
            detected += 1;
        } else {
            ignored += 1;
        }
    }
    assert!(detected >= 80 && ignored >= 30, "{detected} {ignored}");
}
