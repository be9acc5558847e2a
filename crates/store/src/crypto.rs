//! Personal identifiers at rest: SM4 (GB/T 32907) in GCM mode, authenticated, with a fresh
//! random nonce per value, plus an HMAC-SM3 (GB/T 32905) keyed hash for exact-match lookup.
//! The key lives outside the database (a key file or the environment); the database keeps only
//! a fingerprint, so opening it with the wrong key is refused instead of producing garbage.

use crate::error::{Result, StoreError};
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{AesGcm, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sm3::Sm3;
use sm4::cipher::consts::U12;
use sm4::Sm4;
use std::path::Path;

type Sm4Gcm = AesGcm<Sm4, U12>;
type HmacSm3 = Hmac<Sm3>;

/// Key material: 32 random bytes, written as 64 hex digits.
#[derive(Clone)]
pub struct Crypto {
    enc: [u8; 16],
    mac: [u8; 32],
    fingerprint: String,
}

impl std::fmt::Debug for Crypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Crypto({})", self.fingerprint)
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut m = <HmacSm3 as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(data);
    m.finalize().into_bytes().into()
}

impl Crypto {
    pub fn from_master(master: &[u8; 32]) -> Crypto {
        let e = hmac(master, b"counterpart/sm4-gcm/v1");
        let mut enc = [0u8; 16];
        enc.copy_from_slice(&e[..16]);
        let mac = hmac(master, b"counterpart/lookup/v1");
        let fingerprint = hex::encode(&hmac(master, b"counterpart/fingerprint/v1")[..8]);
        Crypto { enc, mac, fingerprint }
    }

    pub fn from_hex(s: &str) -> Result<Crypto> {
        let bytes = hex::decode(s.trim()).map_err(|_| StoreError::Config("密钥须为 64 位十六进制数字".into()))?;
        let master: [u8; 32] =
            bytes.try_into().map_err(|_| StoreError::Config("密钥须为 32 字节（64 位十六进制数字）".into()))?;
        Ok(Crypto::from_master(&master))
    }

    /// A new random key, as hex.
    pub fn generate_hex() -> String {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        hex::encode(k)
    }

    /// Read the key file; when it does not exist and `create` is set, write a new random key
    /// there (mode 0600) first.
    pub fn from_file(path: &Path, create: bool) -> Result<(Crypto, bool)> {
        match std::fs::read_to_string(path) {
            Ok(s) => Ok((Crypto::from_hex(&s)?, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let k = Crypto::generate_hex();
                write_private(path, &k)
                    .map_err(|e| StoreError::Config(format!("无法写入密钥文件 {}：{e}", path.display())))?;
                Ok((Crypto::from_hex(&k)?, true))
            }
            Err(e) => Err(StoreError::Config(format!("无法读取密钥文件 {}：{e}", path.display()))),
        }
    }

    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Encrypt: "v1:" + hex(nonce ‖ ciphertext ‖ tag).
    pub fn encrypt(&self, clear: &str) -> Result<String> {
        let cipher = Sm4Gcm::new_from_slice(&self.enc).map_err(|e| StoreError::Crypto(e.to_string()))?;
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(Nonce::from_slice(&nonce), clear.as_bytes())
            .map_err(|e| StoreError::Crypto(e.to_string()))?;
        let mut out = nonce.to_vec();
        out.extend(ct);
        Ok(format!("v1:{}", hex::encode(out)))
    }

    pub fn decrypt(&self, stored: &str) -> Result<String> {
        let bad = || StoreError::Crypto("密文损坏或密钥不符".into());
        let raw = hex::decode(stored.strip_prefix("v1:").ok_or_else(bad)?).map_err(|_| bad())?;
        if raw.len() < 12 + 16 {
            return Err(bad());
        }
        let cipher = Sm4Gcm::new_from_slice(&self.enc).map_err(|e| StoreError::Crypto(e.to_string()))?;
        let clear = cipher.decrypt(Nonce::from_slice(&raw[..12]), &raw[12..]).map_err(|_| bad())?;
        String::from_utf8(clear).map_err(|_| bad())
    }

    /// Keyed hash for exact-match lookup of an identifier.
    pub fn lookup_hash(&self, clear: &str) -> String {
        hex::encode(hmac(&self.mac, clear.as_bytes()))
    }
}

fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(content.as_bytes())?;
    f.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sm4::cipher::BlockEncrypt;

    #[test]
    fn sm3_and_sm4_known_answers() {
        use sm3::Digest;
        assert_eq!(
            hex::encode(Sm3::digest(b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        let key = hex::decode("0123456789abcdeffedcba9876543210").unwrap();
        let c = Sm4::new_from_slice(&key).unwrap();
        let mut block = sm4::cipher::generic_array::GenericArray::clone_from_slice(&key);
        c.encrypt_block(&mut block);
        assert_eq!(hex::encode(block), "681edf34d206965e86b3e94f536e4246");
    }

    #[test]
    fn round_trip_and_tamper() {
        let c = Crypto::from_hex(&Crypto::generate_hex()).unwrap();
        let a = c.encrypt("360426199101010071").unwrap();
        let b = c.encrypt("360426199101010071").unwrap();
        assert_ne!(a, b, "fresh nonce per value");
        assert!(!a.contains("360426"));
        assert_eq!(c.decrypt(&a).unwrap(), "360426199101010071");
        let mut t = a.clone();
        t.replace_range(t.len() - 2.., if a.ends_with("00") { "11" } else { "00" });
        assert!(c.decrypt(&t).is_err());
        assert_eq!(c.lookup_hash("x"), c.lookup_hash("x"));
        let other = Crypto::from_hex(&Crypto::generate_hex()).unwrap();
        assert!(other.decrypt(&a).is_err());
        assert_ne!(other.fingerprint(), c.fingerprint());
    }
}
