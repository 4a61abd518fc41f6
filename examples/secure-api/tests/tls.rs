//! HTTPS served by the binary itself, over loopback: the protocols and suites it accepts and
//! refuses, HSTS, the plain-HTTP redirect listener, and certificate renewal without a restart.
//! The certificates are made here (a test CA and server certificates for `localhost`).
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::{
    io::{Read as _, Write as _},
    net::TcpStream,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use common::{Response, Server, parse_response, request};
use rustls::{
    ClientConfig, ClientConnection, RootCertStore, StreamOwned, SupportedProtocolVersion,
    crypto::aws_lc_rs, pki_types::ServerName,
};

/// A test CA and server certificates it signs.
struct Ca {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

impl Ca {
    fn new() -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "secure-api test CA");
        let issuer =
            rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap())
                .unwrap();
        Self { issuer }
    }

    /// A certificate for `localhost` and its key, in PEM, and the certificate in DER.
    fn server_cert(&self) -> (String, String, Vec<u8>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&key, &self.issuer)
            .unwrap();
        (cert.pem(), key.serialize_pem(), cert.der().to_vec())
    }

    fn client(&self, versions: &[&'static SupportedProtocolVersion]) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.issuer.der().clone()).unwrap();
        let mut config =
            ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
                .with_protocol_versions(versions)
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
        // Every connection a full handshake: a resumed session shows the certificate of the
        // session it resumes, not the one served now.
        config.resumption = rustls::client::Resumption::disabled();
        Arc::new(config)
    }
}

/// Writes `text` to `path` through a new file renamed over it, as a renewal job does.
fn write(path: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    let next = path.with_extension("next");
    std::fs::write(&next, text).unwrap();
    std::fs::set_permissions(&next, std::fs::Permissions::from_mode(mode)).unwrap();
    std::fs::rename(&next, path).unwrap();
}

/// The service with TLS on, reloading every second, its certificate from `ca`; and the
/// redirect listener's port.
fn start(name: &str, ca: &Ca) -> (Server, u16, Vec<u8>) {
    let dir = Server::temp_dir(name);
    let (cert, key, der) = ca.server_cert();
    write(&dir.join("cert.pem"), &cert, 0o644);
    write(&dir.join("key.pem"), &key, 0o600);
    let redirect_port = palisade_testkit::free_port().unwrap();
    let cert_path = dir.join("cert.pem").display().to_string();
    let key_address = format!("file:{}", dir.join("key.pem").display());
    let redirect_listen = format!("127.0.0.1:{redirect_port}");
    let server = Server::start(
        &dir,
        &[
            ("PALISADE_TLS_CERT", &cert_path),
            ("PALISADE_TLS_KEY", &key_address),
            ("PALISADE_TLS_RELOAD_SECS", "1"),
            ("PALISADE_HTTP_REDIRECT_LISTEN", &redirect_listen),
            (
                "PALISADE_HTTPS_REDIRECT_HOST",
                &format!("localhost:{}", 8443),
            ),
        ],
    );
    (server, redirect_port, der)
}

/// What one HTTPS request saw: the response, the protocol and suite, the server's certificate.
struct Seen {
    response: Response,
    version: rustls::ProtocolVersion,
    suite: rustls::CipherSuite,
    cert: Vec<u8>,
}

fn https_get(port: u16, config: Arc<ClientConfig>, path: &str) -> Seen {
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let conn = ClientConnection::new(config, ServerName::try_from("localhost").unwrap()).unwrap();
    let mut tls = StreamOwned::new(conn, tcp);
    write!(
        tls,
        "GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    // The server may close without close_notify after `Connection: close`; what was read counts.
    let _ = tls.read_to_end(&mut raw);
    let conn = &tls.conn;
    Seen {
        response: parse_response(&raw),
        version: conn.protocol_version().unwrap(),
        suite: conn.negotiated_cipher_suite().unwrap().suite(),
        cert: conn.peer_certificates().unwrap()[0].as_ref().to_vec(),
    }
}

/// A hand-written `ClientHello`: `version` in the record and the hello (no `supported_versions`
/// extension, so the highest version offered is `version`), the given cipher suites, and the
/// extensions an ECDHE handshake needs (SNI, groups, point formats, signature algorithms).
fn client_hello(version: u16, suites: &[u16]) -> Vec<u8> {
    fn u16s(out: &mut Vec<u8>, values: &[u16]) {
        for v in values {
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
    fn with_len16(out: &mut Vec<u8>, body: &[u8]) {
        out.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
        out.extend_from_slice(body);
    }
    let mut extensions = Vec::new();
    // server_name: localhost
    let mut sni = vec![0u8];
    with_len16(&mut sni, b"localhost");
    let mut list = Vec::new();
    with_len16(&mut list, &sni);
    u16s(&mut extensions, &[0x0000]);
    with_len16(&mut extensions, &list);
    // supported_groups: x25519, secp256r1
    let mut groups = Vec::new();
    u16s(&mut groups, &[0x001d, 0x0017]);
    let mut body = Vec::new();
    with_len16(&mut body, &groups);
    u16s(&mut extensions, &[0x000a]);
    with_len16(&mut extensions, &body);
    // ec_point_formats: uncompressed
    u16s(&mut extensions, &[0x000b]);
    with_len16(&mut extensions, &[1, 0]);
    // signature_algorithms: ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256, rsa_pkcs1_sha256
    let mut algs = Vec::new();
    u16s(&mut algs, &[0x0403, 0x0804, 0x0401]);
    let mut body = Vec::new();
    with_len16(&mut body, &algs);
    u16s(&mut extensions, &[0x000d]);
    with_len16(&mut extensions, &body);

    let mut hello = Vec::new();
    u16s(&mut hello, &[version]);
    hello.extend_from_slice(&[7u8; 32]); // random
    hello.push(0); // no session id
    let mut cipher_suites = Vec::new();
    u16s(&mut cipher_suites, suites);
    with_len16(&mut hello, &cipher_suites);
    hello.extend_from_slice(&[1, 0]); // compression: null only
    with_len16(&mut hello, &extensions);

    let mut handshake = vec![1u8]; // client_hello
    handshake.extend_from_slice(&u32::try_from(hello.len()).unwrap().to_be_bytes()[1..]);
    handshake.extend_from_slice(&hello);
    let mut record = vec![0x16];
    u16s(&mut record, &[version]);
    with_len16(&mut record, &handshake);
    record
}

/// The first record the server sends back to `hello`: its content type (22 a handshake, 21
/// an alert) and, for an alert, its description.
fn answer_to(port: u16, hello: &[u8]) -> (u8, Option<u8>) {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.write_all(hello).unwrap();
    let mut head = [0u8; 7];
    let mut read = 0;
    while read < head.len() {
        match tcp.read(&mut head[read..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => read += n,
        }
    }
    assert!(read >= 5, "the server sent {read} bytes");
    (head[0], (head[0] == 21 && read == 7).then_some(head[6]))
}

const HANDSHAKE: u8 = 22;
const ALERT: u8 = 21;
const PROTOCOL_VERSION: u8 = 70;
const HANDSHAKE_FAILURE: u8 = 40;

/// Modern suites the server must accept over TLS 1.2.
const ECDHE_ECDSA_AES128_GCM: u16 = 0xc02b;
const ECDHE_ECDSA_CHACHA20: u16 = 0xcca9;
/// Weak or obsolete suites: static RSA, CBC, RC4, 3DES, export, anonymous, NULL.
const WEAK: &[u16] = &[
    0x002f, // TLS_RSA_WITH_AES_128_CBC_SHA
    0x0035, // TLS_RSA_WITH_AES_256_CBC_SHA
    0x009c, // TLS_RSA_WITH_AES_128_GCM_SHA256 (no forward secrecy)
    0xc009, // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
    0xc023, // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256
    0xc013, // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
    0x0005, // TLS_RSA_WITH_RC4_128_SHA
    0xc007, // TLS_ECDHE_ECDSA_WITH_RC4_128_SHA
    0x000a, // TLS_RSA_WITH_3DES_EDE_CBC_SHA
    0x0003, // TLS_RSA_EXPORT_WITH_RC4_40_MD5
    0x0018, // TLS_DH_anon_WITH_RC4_128_MD5
    0xc018, // TLS_ECDH_anon_WITH_AES_128_CBC_SHA
    0x0002, // TLS_RSA_WITH_NULL_SHA
    0xc006, // TLS_ECDHE_ECDSA_WITH_NULL_SHA
];

/// TLS 1.3 and TLS 1.2 handshakes succeed, each with an AEAD suite, and every answer over
/// TLS carries HSTS.
#[test]
fn tls_1_3_and_1_2_handshakes_succeed_with_hsts() {
    let ca = Ca::new();
    let (server, _, der) = start("tls-versions", &ca);
    let tls13 = https_get(
        server.port,
        ca.client(&[&rustls::version::TLS13]),
        "/health/live",
    );
    assert_eq!(tls13.response.status, 200, "{}", tls13.response.body);
    assert_eq!(tls13.version, rustls::ProtocolVersion::TLSv1_3);
    assert_eq!(tls13.cert, der);
    assert_eq!(
        tls13.response.header("strict-transport-security"),
        Some("max-age=63072000; includeSubDomains")
    );
    let tls12 = https_get(
        server.port,
        ca.client(&[&rustls::version::TLS12]),
        "/nowhere",
    );
    assert_eq!(tls12.response.status, 404);
    assert_eq!(tls12.version, rustls::ProtocolVersion::TLSv1_2);
    // The server's order: AES-256-GCM first for an ECDSA certificate.
    assert_eq!(
        tls12.suite,
        rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
    );
    assert!(
        tls12.response.header("strict-transport-security").is_some(),
        "an error answer over TLS carries HSTS too"
    );
    // Nothing answers plain HTTP on the TLS port: the bytes are not a TLS record.
    let mut tcp = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut raw = Vec::new();
    let _ = tcp.read_to_end(&mut raw);
    assert!(!raw.starts_with(b"HTTP/"), "{raw:?}");
}

/// A hello that offers at most TLS 1.0 or TLS 1.1 is refused with a `protocol_version` alert,
/// even with a modern suite in it; TLS 1.2 hellos offering only weak suites are refused with
/// `handshake_failure`; the same hello with one modern suite gets a `ServerHello`.
#[test]
fn old_protocols_and_weak_suites_are_refused() {
    let ca = Ca::new();
    let (server, _, _) = start("tls-refused", &ca);
    let mut with_modern = WEAK.to_vec();
    with_modern.push(ECDHE_ECDSA_AES128_GCM);
    for (name, version) in [("TLS 1.0", 0x0301), ("TLS 1.1", 0x0302)] {
        let answer = answer_to(server.port, &client_hello(version, &with_modern));
        assert_eq!(answer, (ALERT, Some(PROTOCOL_VERSION)), "{name}");
    }
    let answer = answer_to(server.port, &client_hello(0x0303, WEAK));
    assert_eq!(answer, (ALERT, Some(HANDSHAKE_FAILURE)), "weak suites");
    for weak in WEAK {
        let answer = answer_to(server.port, &client_hello(0x0303, &[*weak]));
        assert_eq!(answer.0, ALERT, "suite {weak:#06x} was accepted");
    }
    // The control: the hand-written hello is good, and a modern suite is taken.
    for modern in [ECDHE_ECDSA_AES128_GCM, ECDHE_ECDSA_CHACHA20] {
        let answer = answer_to(server.port, &client_hello(0x0303, &[modern]));
        assert_eq!(answer.0, HANDSHAKE, "suite {modern:#06x} was refused");
    }
    let answer = answer_to(server.port, &client_hello(0x0303, &with_modern));
    assert_eq!(answer.0, HANDSHAKE);
}

/// The plain-HTTP listener answers every method and path with 308 to the same path and query
/// on `https://` and the configured host, with an empty body and no HSTS (never sent over
/// plain HTTP); a forged `Host` changes nothing.
#[test]
fn the_redirect_listener_answers_308_to_https() {
    let ca = Ca::new();
    let (_server, redirect_port, _) = start("tls-redirect", &ca);
    for (method, body) in [("GET", None), ("POST", Some("{\"password\":\"x\"}"))] {
        let r = request(
            redirect_port,
            method,
            "/auth/login?next=%2Fme",
            &[("Host", "evil.example")],
            body,
        );
        assert_eq!(r.status, 308, "{method}");
        assert_eq!(
            r.header("location"),
            Some("https://localhost:8443/auth/login?next=%2Fme")
        );
        assert!(r.body.is_empty(), "{}", r.body);
        assert_eq!(r.header("strict-transport-security"), None);
    }
}

/// A certificate renewed on disk is served after the next reload, without a restart; bad new
/// files are refused (logged) and the renewed certificate goes on being served.
#[test]
fn a_rotated_certificate_is_served_and_a_bad_one_keeps_the_current() {
    let ca = Ca::new();
    let (server, _, first) = start("tls-rotate", &ca);
    let client = ca.client(&[&rustls::version::TLS13, &rustls::version::TLS12]);
    assert_eq!(
        https_get(server.port, client.clone(), "/health/live").cert,
        first
    );

    let (cert, key, second) = ca.server_cert();
    write(&server.dir.join("key.pem"), &key, 0o600);
    write(&server.dir.join("cert.pem"), &cert, 0o644);
    let started = Instant::now();
    loop {
        let seen = https_get(server.port, client.clone(), "/health/live");
        assert_eq!(seen.response.status, 200);
        if seen.cert == second {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the renewed certificate was never served:\n{}",
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(server.logs().contains("tls: new certificate served"));

    // A certificate file that holds no certificate: refused and logged, the current one kept.
    let refused = |logs: &str| logs.matches("tls: new certificate refused").count();
    let before = refused(&server.logs());
    write(&server.dir.join("cert.pem"), "not a certificate\n", 0o644);
    let started = Instant::now();
    while refused(&server.logs()) == before {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the bad certificate was never looked at:\n{}",
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        server.logs().contains("no PEM certificate"),
        "{}",
        server.logs()
    );
    let seen = https_get(server.port, client, "/health/live");
    assert_eq!(seen.response.status, 200);
    assert_eq!(seen.cert, second);
    // The key never reaches the log.
    let key_body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(!server.logs().contains(&key_body));
}

/// A certificate that does not match its key stops the start, naming the key's address.
#[test]
fn a_key_that_does_not_match_stops_the_start() {
    let ca = Ca::new();
    let dir = Server::temp_dir("tls-mismatch");
    let (cert, _, _) = ca.server_cert();
    let (_, other_key, _) = ca.server_cert();
    write(&dir.join("cert.pem"), &cert, 0o644);
    write(&dir.join("key.pem"), &other_key, 0o600);
    let cert_path = dir.join("cert.pem").display().to_string();
    let key_path = dir.join("key.pem").display().to_string();
    let log = Server::try_start(
        &dir,
        &[],
        &["--tls-cert", &cert_path, "--tls-key", &key_path],
    )
    .err()
    .expect("the service started with a key of another certificate");
    assert!(log.contains("does not match the certificate"), "{log}");
    assert!(log.contains(&key_path), "{log}");
}
