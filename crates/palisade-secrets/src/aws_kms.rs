//! An AWS KMS key as palisade-crypt's key-encryption key (feature `aws`).

use std::{fmt, future::Future, pin::Pin, sync::mpsc as std_mpsc, thread, time::Duration};

use aws_sdk_kms::{
    Client,
    config::{http::HttpResponse, timeout::TimeoutConfig},
    error::{ProvideErrorMetadata, SdkError},
    primitives::Blob,
};
use palisade_crypt::{KekError, KeyEncryptionKey, MasterKey};
use secrecy::SecretSlice;
use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc;
use zeroize::Zeroizing;

/// The encryption-context key under which the keyring's name is bound to every KMS call.
pub const KMS_CONTEXT_KEY: &str = "palisade:keyring";

/// The first bytes of a keyring wrapped by [`AwsKmsKek`], before the length of the KMS blob.
const MAGIC: &[u8; 4] = b"PKM1";
const KEY_CHECK_LABEL: &[u8] = b"palisade-secrets aws-kms kek check v1";
/// The SDK's operation timeout for each KMS call (retries included), unless the SDK
/// configuration sets one.
const KMS_TIMEOUT: Duration = Duration::from_secs(10);

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A thread of its own running a single-threaded tokio runtime, on which every KMS call runs.
/// [`KeyEncryptionKey`] is synchronous; the caller's thread waits on a channel for the answer
/// and never drives (or needs) a runtime of its own, so a call from inside any runtime,
/// even a current-thread one, cannot deadlock or panic.
struct Bridge {
    jobs: Option<mpsc::UnboundedSender<Job>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Bridge {
    fn start() -> Result<Self, KekError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| KekError::Service(format!("starting the AWS KMS runtime: {e}")))?;
        let (jobs, mut queue) = mpsc::unbounded_channel::<Job>();
        let thread = thread::Builder::new()
            .name("palisade-aws-kms".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    while let Some(job) = queue.recv().await {
                        tokio::spawn(job);
                    }
                });
            })
            .map_err(|e| KekError::Service(format!("starting the AWS KMS thread: {e}")))?;
        Ok(Self {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Runs `work` on the bridge's runtime and waits for its result.
    fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, KekError> {
        let stopped = || KekError::Service("the AWS KMS thread stopped".to_owned());
        let (reply, answer) = std_mpsc::sync_channel(1);
        let job: Job = Box::pin(async move {
            let _ = reply.send(work.await);
        });
        self.jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send(job)
            .map_err(|_| stopped())?;
        answer.recv().map_err(|_| stopped())
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop; nothing is in flight, as no caller holds
        // the key any more.
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// An AWS KMS key that seals palisade-crypt keyring files, in place of a local
/// [`MasterKey`]: `Keyring::save(path, &kek)` / `Keyring::load(path, &kek)` work unchanged.
///
/// Envelope encryption: each [`wrap`](KeyEncryptionKey::wrap) draws a fresh 256-bit data key,
/// seals the keyring with it (AES-256-GCM with the keyring file's header as associated data,
/// palisade-crypt's own [`MasterKey`] wrapping), and has KMS `Encrypt` the data key under an
/// **encryption context naming the keyring** (`{"palisade:keyring": NAME}`). Only the
/// KMS-encrypted data key is stored beside the sealed keyring; so the keyring may be larger
/// than the 4 KiB KMS `Encrypt` takes. [`unwrap`](KeyEncryptionKey::unwrap) has KMS
/// `Decrypt` the data key with the same context and the same key: a blob made for another
/// keyring name, by another key, or altered, is refused by KMS and reported as
/// [`KekError::Unwrap`]. The key policy can therefore grant a service `kms:Decrypt` for its
/// own keyring only (`kms:EncryptionContext:palisade:keyring` in a condition).
///
/// The key is resolved to its ARN once (`DescribeKey`), so an alias and the key id name the
/// same key; [`key_check`](KeyEncryptionKey::key_check) is a hash of that ARN and the keyring
/// name, so loading a keyring with the key or name of another one reports the wrong key
/// before anything is decrypted.
///
/// The trait is synchronous: every KMS call runs on a thread of this key's own, with its own
/// runtime, while the caller's thread waits. Called from async code, run it in
/// `tokio::task::spawn_blocking` (as any blocking file or key operation) so a runtime worker
/// is not held while KMS answers.
///
/// ```no_run
/// use palisade_crypt::Keyring;
/// use palisade_secrets::AwsKmsKek;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let runtime = tokio::runtime::Runtime::new()?;
/// let config = runtime.block_on(aws_config::load_defaults(aws_config::BehaviorVersion::latest()));
/// let kek = AwsKmsKek::new(&config, "alias/palisade-keyrings", "billing")?;
/// let mut keyring = Keyring::generate()?;
/// keyring.save_new("/var/lib/billing/keyring.bin", &kek)?;
/// let again = Keyring::load("/var/lib/billing/keyring.bin", &kek)?;
/// # let _ = again;
/// # Ok(())
/// # }
/// ```
pub struct AwsKmsKek {
    client: Client,
    key_arn: String,
    keyring: String,
    check: [u8; 16],
    bridge: Bridge,
}

impl fmt::Debug for AwsKmsKek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsKmsKek")
            .field("key_arn", &self.key_arn)
            .field("keyring", &self.keyring)
            .finish_non_exhaustive()
    }
}

impl AwsKmsKek {
    /// The KMS key `key_id` (a key id, ARN, alias name or alias ARN) sealing the keyring named
    /// `keyring`, through the SDK configuration `config`. Asks KMS for the key's ARN
    /// (`DescribeKey`) before returning, so a missing key or a missing permission shows at
    /// start-up.
    ///
    /// # Errors
    ///
    /// [`KekError::Service`] when KMS cannot be reached or refuses; the message names the
    /// operation and the service's error code.
    pub fn new(
        config: &aws_config::SdkConfig,
        key_id: &str,
        keyring: &str,
    ) -> Result<Self, KekError> {
        let mut builder = aws_sdk_kms::config::Builder::from(config);
        if config
            .timeout_config()
            .is_none_or(|t| t.operation_timeout().is_none())
        {
            let mut timeouts = config
                .timeout_config()
                .map_or_else(TimeoutConfig::builder, TimeoutConfig::to_builder);
            timeouts.set_operation_timeout(Some(KMS_TIMEOUT));
            builder.set_timeout_config(Some(timeouts.build()));
        }
        let client = Client::from_conf(builder.build());
        let bridge = Bridge::start()?;
        let describe = client.describe_key().key_id(key_id);
        let key_arn = bridge
            .run(async move { describe.send().await })?
            .map_err(|e| service_error("DescribeKey", &e))?
            .key_metadata
            .and_then(|m| m.arn)
            .ok_or_else(|| KekError::Service("KMS DescribeKey: no key ARN in the answer".into()))?;
        let check = key_check(&key_arn, keyring);
        Ok(Self {
            client,
            key_arn,
            keyring: keyring.to_owned(),
            check,
            bridge,
        })
    }

    /// The key's ARN, as KMS named it.
    pub fn key_arn(&self) -> &str {
        &self.key_arn
    }

    /// The keyring name bound into every call's encryption context.
    pub fn keyring(&self) -> &str {
        &self.keyring
    }
}

fn key_check(key_arn: &str, keyring: &str) -> [u8; 16] {
    let mut hash = Sha256::new();
    hash.update(KEY_CHECK_LABEL);
    for part in [key_arn, keyring] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    let mut out = [0; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// A KMS failure as a [`KekError`]: a refused ciphertext (wrong context, wrong key, altered)
/// is [`KekError::Unwrap`]; anything else names the operation and the error code only.
fn service_error<E: ProvideErrorMetadata>(
    operation: &str,
    error: &SdkError<E, HttpResponse>,
) -> KekError {
    match error {
        SdkError::ServiceError(service)
            if matches!(
                service.err().code(),
                Some("InvalidCiphertextException" | "IncorrectKeyException")
            ) =>
        {
            KekError::Unwrap
        }
        SdkError::ServiceError(service) => KekError::Service(format!(
            "KMS {operation}: {}",
            service.err().code().unwrap_or("unknown error")
        )),
        SdkError::TimeoutError(_) => KekError::Service(format!("KMS {operation}: timed out")),
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            KekError::Service(format!("KMS {operation}: timed out"))
        }
        SdkError::DispatchFailure(_) => {
            KekError::Service(format!("KMS {operation}: cannot reach the service"))
        }
        SdkError::ResponseError(_) => {
            KekError::Service(format!("KMS {operation}: malformed response"))
        }
        _ => KekError::Service(format!("KMS {operation}: request failed")),
    }
}

impl KeyEncryptionKey for AwsKmsKek {
    fn key_check(&self) -> [u8; 16] {
        self.check
    }

    fn wrap(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, KekError> {
        let mut data_key = Zeroizing::new(vec![0_u8; 32]);
        getrandom::fill(&mut data_key).map_err(|_| KekError::Random)?;
        let sealed =
            MasterKey::from_secret(&SecretSlice::from(data_key.to_vec()))?.wrap(plaintext, aad)?;
        let request = self
            .client
            .encrypt()
            .key_id(&self.key_arn)
            .plaintext(Blob::new(data_key.to_vec()))
            .encryption_context(KMS_CONTEXT_KEY, &self.keyring);
        drop(data_key);
        let blob = self
            .bridge
            .run(async move { request.send().await })?
            .map_err(|e| service_error("Encrypt", &e))?
            .ciphertext_blob
            .map(Blob::into_inner)
            .ok_or_else(|| KekError::Service("KMS Encrypt: no ciphertext in the answer".into()))?;
        let blob_len = u16::try_from(blob.len())
            .map_err(|_| KekError::Service("KMS Encrypt: ciphertext over 64 KiB".into()))?;
        let mut out = Vec::with_capacity(MAGIC.len() + 2 + blob.len() + sealed.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&blob_len.to_be_bytes());
        out.extend_from_slice(&blob);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, KekError> {
        let rest = wrapped.strip_prefix(MAGIC).ok_or(KekError::Unwrap)?;
        let (len, rest) = rest.split_first_chunk::<2>().ok_or(KekError::Unwrap)?;
        let len = usize::from(u16::from_be_bytes(*len));
        if len == 0 || rest.len() < len {
            return Err(KekError::Unwrap);
        }
        let (blob, sealed) = rest.split_at(len);
        let request = self
            .client
            .decrypt()
            .key_id(&self.key_arn)
            .ciphertext_blob(Blob::new(blob))
            .encryption_context(KMS_CONTEXT_KEY, &self.keyring);
        let data_key = Zeroizing::new(
            self.bridge
                .run(async move { request.send().await })?
                .map_err(|e| service_error("Decrypt", &e))?
                .plaintext
                .map(Blob::into_inner)
                .ok_or_else(|| {
                    KekError::Service("KMS Decrypt: no plaintext in the answer".into())
                })?,
        );
        MasterKey::from_secret(&SecretSlice::from(data_key.to_vec()))
            .map_err(|_| KekError::Unwrap)?
            .unwrap(sealed, aad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_check_binds_the_key_and_the_keyring() {
        let a = key_check("arn:aws:kms:eu-west-1:1:key/a", "billing");
        assert_ne!(a, key_check("arn:aws:kms:eu-west-1:1:key/b", "billing"));
        assert_ne!(a, key_check("arn:aws:kms:eu-west-1:1:key/a", "payroll"));
        // Length prefixes: moving a byte between the two parts changes the check.
        assert_ne!(key_check("ab", "c"), key_check("a", "bc"));
        assert_eq!(a, key_check("arn:aws:kms:eu-west-1:1:key/a", "billing"));
    }

    #[test]
    fn the_bridge_runs_work_from_inside_a_current_thread_runtime() {
        let bridge = Bridge::start().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let answer = runtime.block_on(async {
            // A caller inside a runtime: the work runs on the bridge's own thread.
            bridge.run(async {
                tokio::time::sleep(Duration::from_millis(1)).await;
                thread::current().name().map(str::to_owned)
            })
        });
        assert_eq!(answer.unwrap().as_deref(), Some("palisade-aws-kms"));
    }
}
