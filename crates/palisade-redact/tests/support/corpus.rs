//! A corpus of realistic log lines, built deterministically: benign lines full of things that
//! look like secrets to a careless redactor (UUIDs, hashes, git SHAs, timestamps, IPs, order
//! numbers, "password reset requested"), and lines with planted secrets of every kind the
//! default rule set detects. Shared by the corpus test and the bench.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "included as a module by a test and a bench, each using a different part"
)]

use base64::{
    Engine as _, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD,
};

/// xorshift64*: deterministic, dependency-free.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    pub fn string(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| char::from(alphabet[self.below(alphabet.len() as u64) as usize]))
            .collect()
    }
}

pub const HEX: &[u8] = b"0123456789abcdef";
pub const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub const UPPER_AN: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
pub const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn uuid(r: &mut Rng) -> String {
    format!(
        "{}-{}-4{}-a{}-{}",
        r.string(HEX, 8),
        r.string(HEX, 4),
        r.string(HEX, 3),
        r.string(HEX, 3),
        r.string(HEX, 12)
    )
}

fn ts(r: &mut Rng) -> String {
    format!(
        "2026-11-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        1 + r.below(28),
        r.below(24),
        r.below(60),
        r.below(60),
        r.below(1000)
    )
}

fn ip(r: &mut Rng) -> String {
    format!("10.{}.{}.{}", r.below(256), r.below(256), r.below(256))
}

/// One benign line.
pub fn benign(r: &mut Rng) -> String {
    let t = ts(r);
    match r.below(16) {
        0 => format!(
            "{t} INFO request_id={} method=GET path=/api/v1/orders/{} status=200 duration_ms={} ip={}",
            uuid(r),
            r.below(1_000_000),
            r.below(900),
            ip(r)
        ),
        1 => format!(
            "{t} INFO deploy commit {} to prod by ci-bot",
            r.string(HEX, 40)
        ),
        2 => format!(
            "{t} INFO artifact uploaded sha256={} size={}",
            r.string(HEX, 64),
            r.below(1 << 30)
        ),
        3 => format!(
            "{t} INFO password reset requested for user_id={} via email",
            r.below(10_000_000)
        ),
        4 => format!(
            "{t} DEBUG token refreshed for session {} expires_in=3600 token_type=bearer",
            uuid(r)
        ),
        5 => format!(
            "{t} INFO order ORD-2026{:06} total={}.{:02} EUR items={}",
            r.below(1_000_000),
            r.below(5000),
            r.below(100),
            1 + r.below(9)
        ),
        6 => format!(
            "{t} INFO user alice logged in from 2001:db8::{:x} at epoch_ms=17{:011}",
            r.below(65536),
            r.below(100_000_000_000)
        ),
        7 => format!(
            r#"{{"ts":"{t}","level":"info","msg":"cache miss","key":"user:{}","ttl":300}}"#,
            r.below(100_000)
        ),
        8 => format!(
            "{t} INFO GET /search?q=rust+secrets&page={} 200 {}b",
            r.below(50),
            r.below(100_000)
        ),
        9 => format!(
            "{t} WARN retrying connection to db.internal:5432 attempt={} backoff_ms={}",
            r.below(5),
            r.below(10_000)
        ),
        10 => format!(
            "{t} INFO api_key_id={} rotated by admin; key_count={}",
            r.below(100_000),
            r.below(10)
        ),
        11 => format!(
            "{t} INFO Basic auth disabled for /health; passwordless login enabled for tenant {}",
            r.below(1000)
        ),
        12 => format!(
            "{t} INFO invoice {} paid, reference RF{} amount {}",
            r.below(1 << 40),
            r.below(1 << 30),
            r.below(100_000)
        ),
        13 => format!(
            "{t} INFO fetched https://cdn.example.com/assets/{}.js etag=\"{}\"",
            r.string(HEX, 20),
            r.string(HEX, 32)
        ),
        14 => format!(
            "{t} INFO trace_id={} span_id={} sampled=true secretary=bob",
            r.string(HEX, 32),
            r.string(HEX, 16)
        ),
        _ => format!(
            "{t} ERROR upstream timeout after {}ms; token bucket empty for client {}",
            r.below(30_000),
            uuid(r)
        ),
    }
}

fn crc_b62(random: &str) -> String {
    palisade_redact::opaque::checksum(random)
}

fn luhn_complete(body: &str) -> String {
    let digits: Vec<u32> = body.bytes().map(|b| u32::from(b - b'0')).collect();
    let mut sum = 0;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = *d;
        if i % 2 == 0 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    format!("{body}{}", (10 - sum % 10) % 10)
}

fn jwt(r: &mut Rng) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"sub":"{}","exp":1800000000}}"#,
        r.below(1 << 20)
    ));
    format!("{header}.{payload}.{}", r.string(B64URL, 43))
}

/// One line with a planted secret, and the secret.
#[allow(
    clippy::too_many_lines,
    reason = "a table: one arm per kind of planted secret"
)]
pub fn planted(r: &mut Rng, which: u64) -> (String, String) {
    let t = ts(r);
    let (secret, line) = match which % 24 {
        0 => {
            let s = r.string(BASE62, 14);
            (
                s.clone(),
                format!("{t} DEBUG login attempt user=alice password={s} ok"),
            )
        }
        1 => {
            let s = r.string(BASE62, 20);
            (
                s.clone(),
                format!(r#"{{"ts":"{t}","user":"bob","password":"{s}","remember":true}}"#),
            )
        }
        2 => {
            let s = jwt(r);
            (
                s.clone(),
                format!("{t} DEBUG header Authorization: Bearer {s}"),
            )
        }
        3 => {
            let s = r.string(BASE62, 32);
            (
                s.clone(),
                format!("{t} DEBUG Cookie: theme=dark; session={s}"),
            )
        }
        4 => {
            let s = r.string(BASE62, 18);
            (s.clone(), format!("{t} INFO env DB_PASSWORD={s} loaded"))
        }
        5 => {
            let s = r.string(BASE62, 40);
            (s.clone(), format!("{t} INFO oauth client_secret: {s}"))
        }
        6 => {
            let s = r.string(BASE62, 24);
            (
                s.clone(),
                format!("{t} INFO GET /callback?access_token={s}&state=xyz 302"),
            )
        }
        7 => {
            let s = format!("AKIA{}", r.string(UPPER_AN, 16));
            (
                s.clone(),
                format!("{t} WARN using static credentials {s} for s3 upload"),
            )
        }
        8 => {
            let body = r.string(BASE62, 30);
            let s = format!("ghp_{body}{}", crc_b62(&body));
            (s.clone(), format!("{t} ERROR git clone failed with {s}"))
        }
        9 => {
            let s = format!("glpat-{}", r.string(B64URL, 20));
            (s.clone(), format!("{t} ERROR gitlab api 401 for {s}"))
        }
        10 => {
            let s = format!(
                "xoxb-{}-{}-{}",
                r.string(b"0123456789", 12),
                r.string(b"0123456789", 13),
                r.string(BASE62, 24)
            );
            (s.clone(), format!("{t} INFO slack notify via {s}"))
        }
        11 => {
            let s = format!("sk_live_{}", r.string(BASE62, 24));
            (
                s.clone(),
                format!("{t} INFO stripe charge created with key {s}"),
            )
        }
        12 => {
            let s = format!("AIza{}", r.string(B64URL, 35));
            (s.clone(), format!("{t} INFO maps request key={s}"))
        }
        13 => {
            let s = format!("SG.{}.{}", r.string(B64URL, 22), r.string(B64URL, 43));
            (
                s.clone(),
                format!("{t} INFO mail sent through sendgrid {s}"),
            )
        }
        14 => {
            let body = r.string(BASE62, 30);
            let s = format!("npm_{body}{}", crc_b62(&body));
            (
                s.clone(),
                format!("{t} INFO npm publish //registry.npmjs.org/:_authToken={s}"),
            )
        }
        15 => {
            let s = format!("pypi-AgEIcHlwaS5vcmc{}", r.string(B64URL, 100));
            (s.clone(), format!("{t} INFO twine upload -p {s}"))
        }
        16 => {
            let s = jwt(r);
            (s.clone(), format!("{t} DEBUG session jwt {s} accepted"))
        }
        17 => {
            let s = STANDARD.encode(format!("svc:{}", r.string(BASE62, 16)));
            (
                s.clone(),
                format!("{t} DEBUG upstream header Authorization: Basic {s}"),
            )
        }
        18 => {
            let s = r.string(BASE62, 16);
            (
                s.clone(),
                format!("{t} INFO connecting to postgres://app:{s}@db.internal:5432/main"),
            )
        }
        19 => {
            let body = format!(
                "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC{}\n{}",
                r.string(B64URL, 32),
                r.string(B64URL, 64)
            );
            (
                body.clone(),
                format!(
                    "{t} ERROR bad key\n-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----"
                ),
            )
        }
        20 => {
            let s = luhn_complete(&format!("4{}", r.string(b"0123456789", 14)));
            (s.clone(), format!("{t} INFO payment card={s} declined"))
        }
        21 => {
            let s = format!("dop_v1_{}", r.string(HEX, 64));
            (
                s.clone(),
                format!("{t} INFO doctl auth init --access-token {s}"),
            )
        }
        22 => {
            let s = format!(
                "sk-proj-{}T3BlbkFJ{}",
                r.string(B64URL, 74),
                r.string(BASE62, 74)
            );
            (
                s.clone(),
                format!(r#"{{"ts":"{t}","msg":"llm call failed","key":"{s}"}}"#),
            )
        }
        _ => {
            let body = r.string(BASE62, 43);
            let s = format!("palk_{body}{}", crc_b62(&body));
            (s.clone(), format!("{t} WARN api key {s} used from new ip"))
        }
    };
    (line, secret)
}

/// Benign lines and planted lines.
pub struct Corpus {
    pub benign: Vec<String>,
    pub planted: Vec<(String, String)>,
}

impl Corpus {
    pub fn build(seed: u64, benign: usize, planted: usize) -> Self {
        let mut r = Rng::new(seed);
        Self {
            benign: (0..benign).map(|_| self::benign(&mut r)).collect(),
            planted: (0..planted as u64)
                .map(|i| self::planted(&mut r, i))
                .collect(),
        }
    }

    /// All lines as one log, benign and planted interleaved.
    pub fn log(&self, with_secrets: bool) -> String {
        let mut out = String::new();
        let every = if self.planted.is_empty() {
            usize::MAX
        } else {
            (self.benign.len() / self.planted.len()).max(1)
        };
        let mut planted = self.planted.iter();
        for (i, line) in self.benign.iter().enumerate() {
            out.push_str(line);
            out.push('\n');
            if with_secrets
                && i % every == 0
                && let Some((p, _)) = planted.next()
            {
                out.push_str(p);
                out.push('\n');
            }
        }
        out
    }

    /// (planted secrets removed, planted, benign lines unchanged, benign).
    pub fn score(&self, redactor: &palisade_redact::Redactor) -> (usize, usize, usize, usize) {
        let removed = self
            .planted
            .iter()
            .filter(|(line, secret)| !redactor.redact(line).contains(secret.as_str()))
            .count();
        let unchanged = self
            .benign
            .iter()
            .filter(|line| redactor.redact(line) == line.as_str())
            .count();
        (removed, self.planted.len(), unchanged, self.benign.len())
    }
}
