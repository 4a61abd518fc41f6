//! `safe_join` against the traversal vectors in `vectors/traversal.txt`, and file names.

mod common;

use std::path::{Path, PathBuf};

use common::records;
use palisade_sanitize::{
    filename::{FileNameError, FileNameOptions},
    safe_join, sanitize_file_name,
};

#[test]
fn traversal_vectors() {
    let base = Path::new("/srv/base");
    let mut refused = 0;
    for (line, record) in records("traversal.txt") {
        let mut fields = record.splitn(3, '\t');
        let kind = fields.next().unwrap();
        let user = fields.next().unwrap_or("");
        match kind {
            "err" => {
                let got = safe_join(base, user);
                assert!(got.is_err(), "traversal.txt:{line}: {user:?} gave {got:?}");
                refused += 1;
            }
            "ok" => {
                let expected: PathBuf = fields
                    .next()
                    .unwrap()
                    .split('/')
                    .fold(base.to_path_buf(), |p, c| p.join(c));
                let got = safe_join(base, user)
                    .unwrap_or_else(|e| panic!("traversal.txt:{line}: {user:?}: {e}"));
                assert_eq!(got, expected, "traversal.txt:{line}");
                assert!(got.starts_with(base));
            }
            other => panic!("traversal.txt:{line}: unknown kind {other}"),
        }
        // Mutations: the same path behind a parent component, or made absolute, is refused.
        assert!(
            safe_join(base, &format!("../{user}")).is_err(),
            "traversal.txt:{line}"
        );
        assert!(
            safe_join(base, &format!("a\\..\\..\\{user}")).is_err(),
            "traversal.txt:{line}"
        );
        assert!(
            safe_join(base, &format!("/{user}")).is_err(),
            "traversal.txt:{line}"
        );
        assert!(
            safe_join(base, &format!("\\{user}")).is_err(),
            "traversal.txt:{line}"
        );
    }
    assert!(refused >= 30);
}

#[test]
fn path_error_names() {
    let base = Path::new("b");
    let name = |p: &str| safe_join(base, p).unwrap_err().as_str();
    assert_eq!(name("/x"), "absolute");
    assert_eq!(name("x/../y"), "parent_component");
    assert_eq!(name("a:b"), "absolute"); // a drive-relative path on Windows
    assert_eq!(name("ab:c"), "forbidden_character");
    assert_eq!(name("prn"), "reserved_name");
    assert_eq!(name("x."), "trailing_dot_or_space");
    assert_eq!(name("./"), "empty");
    assert_eq!(name(&"a/".repeat(65)), "too_long");
}

#[test]
fn file_names_from_every_os() {
    for (input, expected) in [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("..\\..\\windows\\win.ini", "_.._windows_win.ini"),
        ("C:\\Users\\a.txt", "C__Users_a.txt"),
        ("a<b>c:d\"e|f?g*h", "a_b_c_d_e_f_g_h"),
        ("nul", "_nul"),
        ("Aux.tar.gz", "_Aux.tar.gz"),
        ("conin$", "_conin$"),
        ("COM3 .txt", "_COM3 .txt"),
        ("trailing. ", "trailing"),
        ("tab\there", "tabhere"),
        ("bell\u{7}", "bell"),
        ("zero\u{200B}width", "zerowidth"),
        ("rtl\u{202E}gnp.exe", "rtlgnp.exe"),
        ("isolate\u{2067}x", "isolatex"),
        ("e\u{301}", "é"),
        ("slash\u{2215}look\u{FF0F}alike", "slash_look_alike"),
        (".env", "env"),
        // Found by fuzzing: the letter and the combining mark meet once the joiner is gone.
        ("a\u{2060}\u{30f}", "\u{201}"),
    ] {
        assert_eq!(sanitize_file_name(input).unwrap(), expected, "{input:?}");
    }
    for empty in ["", ".", "..", "...", " ", "\u{202E}", "\0"] {
        assert_eq!(
            sanitize_file_name(empty),
            Err(FileNameError::Empty),
            "{empty:?}"
        );
    }
    assert_eq!(
        sanitize_file_name(&"x".repeat(70_000)),
        Err(FileNameError::TooLong)
    );
}

#[test]
fn byte_limit_respects_utf8_and_extension() {
    let long = format!("{}.tar.gz", "日本語".repeat(40));
    let out = sanitize_file_name(&long).unwrap();
    assert!(out.len() <= 255);
    assert_eq!(
        Path::new(&out).extension().and_then(|e| e.to_str()),
        Some("gz")
    );
    let opts = FileNameOptions::new().max_bytes(20).unwrap();
    let out = opts.sanitize(&"ä".repeat(30)).unwrap();
    assert_eq!(out, "ä".repeat(10));
    let out = opts
        .sanitize(&format!("{}.verylongextension12345", "a".repeat(30)))
        .unwrap();
    assert_eq!(out.len(), 20);
    assert!(FileNameOptions::new().max_bytes(2).is_err());
    assert!(FileNameOptions::new().replacement('/').is_err());
    assert_eq!(
        FileNameOptions::new()
            .replacement('-')
            .unwrap()
            .sanitize("a/b")
            .unwrap(),
        "a-b"
    );
}
