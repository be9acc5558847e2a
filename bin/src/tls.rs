//! HTTPS for `serve --tls-cert FILE --tls-key FILE`: rustls with the `ring` provider, a PEM
//! certificate chain and a PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC). Every failure names
//! the file and what is wrong with it, before anything is served.

use anyhow::{bail, Context};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

/// The server's TLS configuration from the two files. ALPN offers HTTP/2 and HTTP/1.1.
pub fn server_config(cert: &Path, key: &Path) -> anyhow::Result<rustls::ServerConfig> {
    // One crypto provider for the process, chosen here rather than by feature unification.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let _ = rustls::crypto::ring::default_provider().install_default();

    let cert_pem = read(cert, "证书")?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(cert, "证书", e))?;
    if chain.is_empty() {
        bail!("TLS 证书文件 {} 中没有 PEM 格式的证书（应含 -----BEGIN CERTIFICATE----- 段）", cert.display());
    }
    let key_pem = read(key, "私钥")?;
    let private = match PrivateKeyDer::from_pem_slice(&key_pem) {
        Ok(k) => k,
        Err(pem::Error::NoItemsFound) => bail!(
            "TLS 私钥文件 {} 中没有 PEM 格式的私钥（应含 -----BEGIN PRIVATE KEY-----、\
             -----BEGIN RSA PRIVATE KEY----- 或 -----BEGIN EC PRIVATE KEY----- 段；加密的私钥须先解密）",
            key.display()
        ),
        Err(e) => return Err(pem_error(key, "私钥", e)),
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS 协议版本配置失败")?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| {
            anyhow::anyhow!(
                "TLS 证书 {} 与私钥 {} 无法使用（私钥须与证书匹配，且为 RSA、ECDSA 或 Ed25519 密钥）：{e}",
                cert.display(),
                key.display()
            )
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

fn read(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("无法读取 TLS {what}文件 {}", path.display()))
}

fn pem_error(path: &Path, what: &str, e: pem::Error) -> anyhow::Error {
    anyhow::anyhow!("TLS {what}文件 {} 不是有效的 PEM 文件：{e}", path.display())
}
