//! Where the service's secrets are read from: palisade-secrets' local sources (`env:`,
//! `file:`, `systemd:`), AWS Secrets Manager (`aws-sm:`, feature `aws`) and Vault's KV
//! version 2 engine (`vault:`, feature `vault`), behind one palisade-secrets [`Source`]. The
//! start-up read and the reload task (`reload.rs`, whose cache drives `watch`) both go through
//! it.

#[cfg(any(feature = "aws", feature = "vault"))]
use std::sync::Arc;

use palisade_secrets::{Address, LocalSource, Secret, SecretError, SecretErrorKind, Source};

/// The local source, and the remote clients this build has, each made on first use (on the
/// runtime that uses it: an SDK client's connections belong to one runtime).
#[derive(Clone)]
pub(crate) struct ServiceSource {
    local: LocalSource,
    #[cfg(feature = "aws")]
    aws: Arc<tokio::sync::OnceCell<palisade_secrets::AwsSecretsManager>>,
    #[cfg(feature = "vault")]
    vault: Arc<tokio::sync::OnceCell<Result<palisade_secrets::VaultSource, String>>>,
}

impl std::fmt::Debug for ServiceSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceSource").finish_non_exhaustive()
    }
}

impl ServiceSource {
    /// `local` for `env:`, `file:` and `systemd:`; the remote sources of this build for the
    /// rest, made when first read.
    pub(crate) fn new(local: LocalSource) -> Self {
        Self {
            local,
            #[cfg(feature = "aws")]
            aws: Arc::default(),
            #[cfg(feature = "vault")]
            vault: Arc::default(),
        }
    }

    /// Whether `address` is read over the network (from a secret manager).
    pub(crate) fn is_remote(address: &Address) -> bool {
        matches!(address, Address::AwsSecretsManager(_) | Address::Vault(_))
    }

    /// Reads `address` from a synchronous caller (the configuration, at start-up): a local
    /// address directly, a remote one on a thread of its own with its own runtime (so this
    /// works inside or outside a runtime), with remote clients made for this read only.
    pub(crate) fn load_blocking(&self, address: &Address) -> Result<Secret, SecretError> {
        if !Self::is_remote(address) {
            return self.local.load(address);
        }
        let once = Self::new(self.local.clone());
        let unavailable = || SecretError::new(address, SecretErrorKind::Unavailable);
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|_| unavailable())?;
                    runtime.block_on(once.fetch(address))
                })
                .join()
                .unwrap_or_else(|_| Err(unavailable()))
        })
    }

    #[cfg(feature = "aws")]
    async fn aws(&self, address: &Address) -> Result<Secret, SecretError> {
        let client = self
            .aws
            .get_or_init(|| async {
                let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
                palisade_secrets::AwsSecretsManager::new(&sdk)
            })
            .await;
        client.fetch(address).await
    }

    #[cfg(not(feature = "aws"))]
    #[allow(clippy::unused_async)]
    async fn aws(&self, address: &Address) -> Result<Secret, SecretError> {
        Err(SecretError::new(address, SecretErrorKind::Unsupported))
    }

    #[cfg(feature = "vault")]
    async fn vault(&self, address: &Address) -> Result<Secret, SecretError> {
        let source = self
            .vault
            .get_or_init(|| async {
                palisade_secrets::VaultConfig::from_env()
                    .and_then(|config| palisade_secrets::VaultSource::new(&config))
                    .map_err(|e| e.to_string())
            })
            .await;
        match source {
            Ok(source) => source.fetch(address).await,
            Err(reason) => {
                tracing::warn!(reason, "Vault is not configured (VAULT_ADDR, VAULT_TOKEN)");
                Err(SecretError::new(address, SecretErrorKind::Unsupported))
            }
        }
    }

    #[cfg(not(feature = "vault"))]
    #[allow(clippy::unused_async)]
    async fn vault(&self, address: &Address) -> Result<Secret, SecretError> {
        Err(SecretError::new(address, SecretErrorKind::Unsupported))
    }
}

impl Source for ServiceSource {
    async fn fetch(&self, address: &Address) -> Result<Secret, SecretError> {
        match address {
            Address::AwsSecretsManager(_) => self.aws(address).await,
            Address::Vault(_) => self.vault(address).await,
            _ => self.local.load(address),
        }
    }
}
