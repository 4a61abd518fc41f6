"""Regenerates samples.tsv: for every provider family palisade-redact knows, valid tokens of
the provider's documented format and near-misses that must be left alone (one character short,
one too long, a broken checksum, a placeholder, the prefix in prose).

    python3 generate.py

Written from the providers' documented formats, independently of the Rust detectors: the
formats are spelled out again here, and the checksums (zlib's CRC32 for Grafana, BIP 173's
bech32 for age) come from Python's own libraries or the specification. Deterministic (fixed
seed); the tokens are synthetic and grant nothing. Standard library only.
"""
import random
import string
import sys
import zlib

rng = random.Random(20261204)

DIGITS = string.digits
HEX = DIGITS + "abcdef"
HEXANY = HEX + "ABCDEF"
ALNUM = string.ascii_letters + DIGITS
UPPER = string.ascii_uppercase + DIGITS
LOWER = string.ascii_lowercase + DIGITS
LETTERS = string.ascii_letters
B64URL = ALNUM + "_-"
B64 = ALNUM + "+/"
B64URLDOT = B64URL + "."
TOK = B64URL + ".="
B64JOINED = ALNUM + "+/_"
B64URLEQ = B64URL + "="
SEP = "_-"
ALNUMDASH = ALNUM + "-"
B64ANY = ALNUM + "+/_=-"


def rand(alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


def uuid():
    return "-".join(rand(HEX, n) for n in (8, 4, 4, 4, 12))


# family id -> (prefixes, body parts). A part is (alphabet, min, max) or a literal string.
SEQ = {
    "google_oauth_client_secret": (["GOCSPX-"], [(B64URL, 28, 28)]),
    "google_oauth_access_token": (["ya29."], [(B64URL, 50, 4096)]),
    "digitalocean_token": (["dop_v1_", "doo_v1_", "dor_v1_"], [(HEX, 64, 64)]),
    "alibaba_access_key_id": (["LTAI"], [(ALNUM, 12, 20)]),
    "heroku_api_key": (["HRKU-AA"], [(B64URL, 58, 58)]),
    "flyio_token": (["fo1_"], [(B64URL, 43, 43)]),
    "flyio_macaroon": (["fm1r_", "fm1a_", "fm2_"], [(B64, 100, 8192)]),
    "cloudflare_origin_ca_key": (["v1.0-"], [(HEX, 24, 24), "-", (HEX, 146, 146)]),
    "vault_service_token": (["hvs."], [(B64URL, 24, 512)]),
    "vault_batch_token": (["hvb."], [(B64URL, 100, 1024)]),
    "pulumi_token": (["pul-"], [(HEX, 40, 40)]),
    "doppler_token": (["dp.pt.", "dp.ct.", "dp.sa.", "dp.scim.", "dp.audit."], [(ALNUM, 40, 44)]),
    "tailscale_key": (["tskey-"], [(string.ascii_lowercase, 3, 8), "-", (ALNUM, 6, 24), "-", (ALNUM, 20, 64)]),
    "scalingo_token": (["tk-us-"], [(B64URL, 48, 48)]),
    "infracost_api_key": (["ico-"], [(ALNUM, 32, 32)]),
    "atlassian_api_token": (["ATATT3", "ATCTT3"], [(TOK, 180, 200)]),
    "bitbucket_app_password": (["ATBB"], [(ALNUM, 28, 36)]),
    "circleci_token": (["CCIPAT_"], [(ALNUM, 22, 22), "_", (HEX, 40, 40)]),
    "buildkite_token": (["bkua_"], [(HEX, 40, 40)]),
    "octopus_deploy_api_key": (["API-"], [(UPPER, 26, 32)]),
    "harness_token": (["pat.", "sat."], [(B64URL, 22, 22), ".", (ALNUM, 24, 24), ".", (ALNUM, 20, 20)]),
    "jfrog_api_key": (["AKCp"], [(ALNUM, 69, 69)]),
    "jfrog_reference_token": (["cmVmdGtu"], [(ALNUM, 56, 56)]),
    "docker_hub_pat": (["dckr_pat_"], [(B64URL, 27, 27)]),
    "docker_hub_oat": (["dckr_oat_"], [(B64URL, 32, 32)]),
    "sonarqube_token": (["squ_", "sqp_", "sqa_"], [(HEX, 40, 40)]),
    "deno_deploy_token": (["ddp_", "ddw_"], [(ALNUM, 36, 36)]),
    "prefect_api_key": (["pnu_"], [(ALNUM, 36, 36)]),
    "postman_api_key": (["PMAK-"], [(HEX, 24, 24), "-", (HEX, 34, 34)]),
    "linear_api_key": (["lin_api_"], [(ALNUM, 40, 40)]),
    "notion_token": (["ntn_"], [(DIGITS, 11, 11), (ALNUM, 35, 35)]),
    "notion_legacy_token": (["secret_"], [(ALNUM, 43, 43)]),
    "figma_pat": (["figd_"], [(B64URL, 40, 40)]),
    "typeform_pat": (["tfp_"], [(TOK, 59, 59)]),
    "contentful_pat": (["CFPAT-"], [(B64URL, 43, 43)]),
    "adobe_client_secret": (["p8e-"], [(ALNUM, 32, 32)]),
    "frameio_token": (["fio-u-"], [(B64URL, 64, 64)]),
    "readme_api_key": (["rdme_"], [(LOWER, 70, 70)]),
    "openshift_token": (["sha256~"], [(B64URL, 43, 43)]),
    "airtable_pat": (["pat"], [(ALNUM, 14, 14), ".", (HEX, 64, 64)]),
    "shopify_token": (["shpat_", "shpca_", "shppa_", "shpss_"], [(HEXANY, 32, 32)]),
    "posthog_personal_api_key": (["phx_"], [(ALNUM, 43, 43)]),
    "intra42_client_secret": (["s-s4t2ud-", "s-s4t2af-"], [(HEX, 64, 64)]),
    "stripe_webhook_secret": (["whsec_"], [(ALNUM, 32, 64)]),
    "square_access_token": (["EAAA"], [(B64URL, 60, 60)]),
    "square_legacy_token": (["sq0atp-"], [(B64URL, 22, 22)]),
    "square_oauth_secret": (["sq0csp-"], [(B64URL, 43, 43)]),
    "flutterwave_secret_key": (["FLWSECK_TEST-", "FLWSECK-"], [(HEX, 32, 32), "-X"]),
    "shippo_token": (["shippo_live_", "shippo_test_"], [(HEX, 40, 40)]),
    "easypost_api_key": (["EZAK", "EZTK"], [(ALNUM, 54, 54)]),
    "duffel_token": (["duffel_live_", "duffel_test_"], [(B64URL, 43, 43)]),
    "mailgun_api_key": (["key-"], [(HEX, 32, 32)]),
    "brevo_api_key": (["xkeysib-", "xsmtpsib-"], [(HEX, 64, 64), "-", (ALNUM, 16, 16)]),
    "grafana_cloud_token": (["glc_"], [(B64, 32, 400)]),
    "newrelic_user_api_key": (["NRAK-"], [(UPPER, 27, 27)]),
    "newrelic_insert_key": (["NRII-"], [(B64URL, 32, 32)]),
    "sentry_user_token": (["sntryu_"], [(HEX, 64, 64)]),
    "sentry_org_token": (["sntrys_"], [(B64JOINED, 80, 1024)]),
    "dynatrace_token": (["dt0c01."], [(UPPER, 24, 24), ".", (UPPER, 64, 64)]),
    "rubygems_api_key": (["rubygems_"], [(HEX, 48, 48)]),
    "nuget_api_key": (["oy2"], [(LOWER, 43, 43)]),
    "clojars_token": (["CLOJARS_"], [(LOWER, 60, 60)]),
    "crates_io_token": (["cio"], [(ALNUM, 32, 32)]),
    "databricks_token": (["dapi"], [(HEX, 32, 32)]),
    "supabase_token": (["sbp_"], [(HEX, 40, 40)]),
    "planetscale_token": (["pscale_tkn_", "pscale_pw_", "pscale_oauth_"], [(TOK, 32, 64)]),
    "openrouter_api_key": (["sk-or-v1-"], [(HEX, 64, 64)]),
    "groq_api_key": (["gsk_"], [(ALNUM, 52, 52)]),
    "perplexity_api_key": (["pplx-"], [(ALNUM, 48, 48)]),
    "replicate_api_token": (["r8_"], [(ALNUM, 37, 37)]),
    "huggingface_token": (["hf_", "api_org_"], [(LETTERS, 34, 34)]),
    "xai_api_key": (["xai-"], [(ALNUM, 80, 80)]),
    "langsmith_api_key": (["lsv2_pt_", "lsv2_sk_"], [(HEX, 32, 32), "_", (HEX, 10, 10)]),
    "facebook_access_token": (["EAACEdEose0cBA"], [(ALNUM, 20, 1024)]),
    "mapbox_secret_token": (["sk.eyJ"], [(B64URL, 50, 400), ".", (B64URL, 22, 22)]),
    "dropbox_short_lived_token": (["sl."], [(B64URLDOT, 130, 2048)]),
    "onepassword_service_account_token": (["ops_eyJ"], [(B64, 100, 8192)]),
    "hubspot_pat": (["pat-na1-", "pat-eu1-"], "uuid"),
    "launchdarkly_token": (["api-", "sdk-"], "uuid"),
    "plaid_access_token": (["access-production-", "access-development-", "access-sandbox-"], "uuid"),
    # Second group.
    "aws_session_token": (["IQoJb3JpZ2luX2Vj", "FwoGZXIvYXdzE"], [(B64, 100, 4096)]),
    "castai_api_key": (["castai_v1_"], [(ALNUM, 64, 64), "_", (ALNUM, 8, 8)]),
    "yandex_api_key": (["AQVN"], [(B64URL, 35, 38)]),
    "yandex_iam_token": (["t1."], [(B64URLEQ, 16, 1024), ".", (B64URL, 86, 86)]),
    "clickhouse_cloud_api_secret": (["4b1d"], [(ALNUM, 38, 38)]),
    "defined_networking_token": (["dnkey-"], [(B64URLEQ, 26, 26), "-", (B64URLEQ, 52, 52)]),
    "google_oauth_refresh_token": (["1//"], [(B64URL, 60, 512)]),
    "authress_access_key": (
        ["sc_", "ext_", "scauth_", "authress_"],
        [(ALNUM, 5, 30), ".", (ALNUM, 4, 6), ".acc", (SEP, 1, 1), (ALNUMDASH, 10, 32), ".", (B64ANY, 30, 120)],
    ),
    "chieftools_token": (["ctp_", "cto_", "ctr_"], [(ALNUM, 30, 248)]),
    "settlemint_token": (["sm_aat_", "sm_pat_", "sm_sat_"], [(ALNUM, 16, 16)]),
    "adyen_api_key": (["AQE"], [(string.ascii_lowercase + DIGITS, 5, 128), ".", (B64URLEQ, 50, 80)]),
    "flutterwave_public_key": (["FLWPUBK_TEST-", "FLWPUBK-"], [(HEX, 32, 32), "-X"]),
    "flutterwave_encryption_key": (["FLWSECK_TEST", "FLWSECK_TEST-"], [(HEX, 12, 12)]),
    "lob_api_key": (["live_", "test_"], [(HEX, 35, 35)]),
    "lob_publishable_key": (["live_pub_", "test_pub_"], [(HEX, 31, 31)]),
    "mailgun_public_key": (["pubkey-"], [(HEX, 32, 32)]),
    "grafana_api_key": (["eyJrIjoi"], [(B64, 70, 400)]),
    "newrelic_browser_key": (["NRJS-"], [(HEX, 19, 19)]),
    "meta_page_access_token": (["EAAM", "EAAC", "EAAG"], [(ALNUM, 100, 1024)]),
    "mapbox_public_token": (["pk.eyJ"], [(B64URL, 50, 400), ".", (B64URL, 22, 22)]),
}


def length_for(lo, hi):
    return rng.randint(lo, min(hi, lo + 40))


def body(parts, tweak=None):
    """A body; tweak = ('short'|'long', index of the last run) changes that run's length."""
    if parts == "uuid":
        u = uuid()
        if tweak == "short":
            u = u[:-1]
        elif tweak == "long":
            u += rng.choice(HEX)
        return u
    out = []
    runs = [i for i, p in enumerate(parts) if not isinstance(p, str)]
    last = runs[-1]
    for i, p in enumerate(parts):
        if isinstance(p, str):
            out.append(p)
            continue
        alphabet, lo, hi = p
        n = length_for(lo, hi)
        if i == last and tweak == "short":
            n = lo - 1
        elif i == last and tweak == "long":
            n = hi + 1
        s = rand(alphabet, n)
        # A run must not begin or end with punctuation a neighbouring word would swallow.
        if i == last and s and not s[-1].isalnum():
            s = s[:-1] + rng.choice(ALNUM)
        out.append(s)
    return "".join(out)


def placeholder(parts):
    b = body(parts)
    return "".join(c if not c.isalnum() else "X" for c in b)


rows = []  # (family, expect, why, secret, redacted part)


def add(family, expect, why, token, part=None):
    assert "\t" not in token and "\n" not in token
    rows.append((family, expect, why, token, part or token))


for fam, (prefixes, parts) in SEQ.items():
    for prefix in prefixes:
        for _ in range(2):
            add(fam, "detect", "valid", prefix + body(parts))
    p = prefixes[0]
    last = parts if parts == "uuid" else [x for x in parts if not isinstance(x, str)][-1]
    if parts == "uuid" or last[1] > 1:
        add(fam, "ignore", "one short", p + body(parts, "short"))
    if parts == "uuid" or last[2] < 1000:
        add(fam, "ignore", "one long", p + body(parts, "long"))
    add(fam, "ignore", "placeholder", p + placeholder(parts))
    add(fam, "ignore", "prose", f"{p} prefix noted in the docs")


# Formats with a hand-written shape.
def azure():
    cs = ALNUM + "_~.-"
    return rand(ALNUM, 3) + rng.choice("78") + "Q~" + rand(cs, rng.randint(30, 33)) + rng.choice(ALNUM)


for _ in range(3):
    add("azure_ad_client_secret", "detect", "valid", azure())
add("azure_ad_client_secret", "ignore", "one short", rand(ALNUM, 3) + "8Q~" + rand(ALNUM, 30))
add("azure_ad_client_secret", "ignore", "placeholder", "abc8Q~" + "X" * 34)

for _ in range(3):
    add("terraform_cloud_token", "detect", "valid", rand(ALNUM, 14) + ".atlasv1." + rand(ALNUM + "_=-", 66) + "A")
add("terraform_cloud_token", "ignore", "one short", rand(ALNUM, 14) + ".atlasv1." + rand(ALNUM, 59))
add("terraform_cloud_token", "ignore", "prose", "see .atlasv1. tokens")

for _ in range(2):
    add("sourcegraph_token", "detect", "valid", "sgp_" + rand(HEX, 16) + "_" + rand(HEX, 40))
    add("sourcegraph_token", "detect", "valid", "sgp_local_" + rand(HEX, 40))
    add("sourcegraph_token", "detect", "valid", "sgp_" + rand(HEX, 40))
add("sourcegraph_token", "ignore", "one short", "sgp_" + rand(HEX, 16) + "_" + rand(HEX, 39))
add("sourcegraph_token", "ignore", "placeholder", "sgp_" + "0" * 40)

for _ in range(3):
    add("telegram_bot_token", "detect", "valid", str(rng.randint(10**8, 10**9 - 1)) + ":AA" + rand(B64URL, 32) + rng.choice(ALNUM))
add("telegram_bot_token", "ignore", "one short", str(rng.randint(10**8, 10**9 - 1)) + ":AA" + rand(ALNUM, 32) + " ")
add("telegram_bot_token", "ignore", "prose", "ratio 3:AA grade")

for _ in range(3):
    token = rand(B64URL, 67) + rng.choice(ALNUM)
    add("discord_webhook", "detect", "valid", f"https://discord.com/api/webhooks/{rng.randint(10**17, 10**18 - 1)}/{token}", token)
add("discord_webhook", "ignore", "prose", "POST https://example.com/api/webhooks/ is ours")

for _ in range(3):
    path = f"{uuid()}@{uuid()}/IncomingWebhook/{rand(HEX, 32)}/{uuid()}"
    add("teams_webhook", "detect", "valid", f"https://contoso.webhook.office.com/webhookb2/{path}", path)
add("teams_webhook", "ignore", "prose", "https://example.com/webhookb2/ is not Teams")

for _ in range(3):
    path = f"{rng.randint(10**6, 10**7 - 1)}/{rand(LOWER, 6)}/"
    add("zapier_webhook", "detect", "valid", f"https://hooks.zapier.com/hooks/catch/{path}", path)

for env in ["production", "sandbox"]:
    add("braintree_access_token", "detect", "valid", f"access_token${env}${rand(LOWER, 16)}${rand(HEX, 32)}")
add("braintree_access_token", "ignore", "one short", f"access_token$production${rand(LOWER, 16)}${rand(HEX, 31)}")

for _ in range(3):
    add("mailchimp_api_key", "detect", "valid", rand(HEX, 32) + "-us" + str(rng.randint(1, 21)))
add("mailchimp_api_key", "ignore", "one short", rand(HEX, 31) + "-us6")
add("mailchimp_api_key", "ignore", "prose", "sign-up with --user alice")


def grafana(valid=True):
    secret = rand(ALNUM, 32)
    crc = zlib.crc32(("glsa_" + secret).encode()).to_bytes(4, "little").hex()
    if not valid:
        crc = crc[:-1] + ("0" if crc[-1] != "0" else "1")
    return f"glsa_{secret}_{crc}"


for _ in range(3):
    add("grafana_service_account_token", "detect", "valid", grafana())
add("grafana_service_account_token", "ignore", "wrong checksum", grafana(False))
add("grafana_service_account_token", "ignore", "wrong checksum", grafana(False))

for _ in range(2):
    add("openai_api_key", "detect", "valid", "sk-" + rand(ALNUM, 20) + "T3BlbkFJ" + rand(ALNUM, 20))
    add("openai_api_key", "detect", "valid", "sk-proj-" + rand(B64URL, 74) + "T3BlbkFJ" + rand(B64URL, 73) + "A")
add("openai_api_key", "ignore", "prose", "the marker T3BlbkFJ alone")

for prefix in ["sk-ant-api03-", "sk-ant-admin01-"]:
    add("anthropic_api_key", "detect", "valid", prefix + rand(B64URL, 93) + "AA")
add("anthropic_api_key", "ignore", "one short", "sk-ant-api03-" + rand(B64URL, 92) + "AA")
add("anthropic_api_key", "ignore", "placeholder", "sk-ant-api03-" + "X" * 93 + "AA")

for _ in range(2):
    add("twitter_bearer_token", "detect", "valid", "A" * 22 + rand(ALNUM + "%", 99) + "A")
add("twitter_bearer_token", "ignore", "placeholder", "A" * 122)

for _ in range(2):
    g = [rand(UPPER, n) for n in (6, 11, 5, 5, 5)]
    add("onepassword_secret_key", "detect", "valid", "A3-" + "-".join(g))
add("onepassword_secret_key", "ignore", "one short", "A3-" + "-".join(rand(UPPER, n) for n in (6, 10, 5, 5, 5)))

# age: BIP 173 bech32 over the human-readable part "age-secret-key-".
CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def polymod(values):
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def age_key(valid=True):
    hrp = "age-secret-key-"
    data = []
    acc, bits = 0, 0
    for byte in rng.randbytes(32):
        acc = (acc << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            data.append((acc >> bits) & 31)
    if bits:
        data.append((acc << (5 - bits)) & 31)
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    pm = polymod(expanded + data + [0] * 6) ^ 1
    checksum = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    s = "".join(CHARSET[d] for d in data + checksum)
    if not valid:
        s = s[:-1] + ("q" if s[-1] != "q" else "p")
    return (hrp + "1" + s).upper()


for _ in range(3):
    add("age_secret_key", "detect", "valid", age_key())
add("age_secret_key", "ignore", "wrong checksum", age_key(False))

# Second group of hand-written shapes.
for _ in range(3):
    add("vault_legacy_token", "detect", "valid", "s." + rand(ALNUM, 11) + rng.choice(DIGITS) + rand(ALNUM, 12))
add("vault_legacy_token", "ignore", "letters only", "s." + rand(string.ascii_letters, 24))
add("vault_legacy_token", "ignore", "one short", "s." + rand(ALNUM, 10) + "7" + rand(ALNUM, 12))

for _ in range(3):
    value = rand(LOWER, 32)
    add("gitlab_session_cookie", "detect", "valid", "_gitlab_session=" + value, value)
add("gitlab_session_cookie", "ignore", "one short", "_gitlab_session=" + rand(LOWER, 31))

for name in ["BUNDLE_GEMS__CONTRIBSYS__COM", "BUNDLE_ENTERPRISE__CONTRIBSYS__COM"]:
    creds = rand(HEX, 8) + ":" + rand(HEX, 8)
    add("sidekiq_credentials", "detect", "valid", f"{name}={creds}", creds)
add("sidekiq_credentials", "ignore", "one short", "BUNDLE_GEMS__CONTRIBSYS__COM=" + rand(HEX, 8) + ":" + rand(HEX, 7))

for _ in range(3):
    add("maxmind_license_key", "detect", "valid", rand(ALNUM, 6) + "_" + rand(ALNUM, 29) + "_mmk")
add("maxmind_license_key", "ignore", "one short", rand(ALNUM, 6) + "_" + rand(ALNUM, 28) + "_mmk")
add("maxmind_license_key", "ignore", "prose", "the suffix _mmk marks them")


def gocardless_token():
    b = rand(B64URLEQ, 38)
    return b + rng.choice(DIGITS) + rng.choice(string.ascii_letters)


for prefix in ["live_", "sandbox_"]:
    for _ in range(2):
        add("gocardless_access_token", "detect", "valid", prefix + gocardless_token())
add("gocardless_access_token", "ignore", "one short", "live_" + gocardless_token()[1:])
add("gocardless_access_token", "ignore", "one long", "live_" + gocardless_token() + "a")
add("gocardless_access_token", "ignore", "no digits", "live_migration_of_the_primary_database_clusters")

for _ in range(3):
    add("firebase_fcm_server_key", "detect", "valid", "AAAA" + rand(B64URL, 7) + ":APA91b" + rand(B64URL, 133) + rng.choice(ALNUM))
add("firebase_fcm_server_key", "ignore", "one short", "AAAA" + rand(B64URL, 7) + ":APA91b" + rand(ALNUM, 99))
add("firebase_fcm_server_key", "ignore", "prose", "legacy keys carry :APA91b inside")

with open("samples.tsv", "w") as f:
    f.write("# Provider tokens of every built-in family, and near-misses that must be left alone.\n")
    f.write(f"# generated by generate.py (seeded, deterministic) with Python {sys.version.split()[0]}.\n")
    f.write("# Synthetic: they grant nothing.\n")
    f.write("# Record: family <TAB> detect|ignore <TAB> why <TAB> token <TAB> the part that must go\n")
    for row in rows:
        f.write("\t".join(row) + "\n")
print(f"wrote {len(rows)} records for {len({r[0] for r in rows})} families")
