//! One-time passwords for the second factor: HOTP (RFC 4226) and TOTP (RFC 6238) with
//! HMAC-SHA1, 6 digits, a 30-second step, accepted one step either side; the shared secret in
//! base32 (RFC 4648, no padding) and the `otpauth://` URI authenticator apps read. No I/O: the
//! secret's randomness and the clock come from the caller.

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds per TOTP step.
pub const STEP_SECONDS: i64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Steps accepted either side of the current one (clock drift, a code typed as it turned).
pub const WINDOW: i64 = 1;
/// The issuer shown by authenticator apps.
pub const ISSUER: &str = "Counterpart";

/// HOTP (RFC 4226 §5): the `digits`-digit code of `counter` under `key`.
pub fn hotp(key: &[u8], counter: u64, digits: u32) -> u32 {
    // HMAC accepts a key of any length: `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key) else { return 0 };
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = usize::from(h[19] & 0x0f);
    let bin = (u32::from(h[offset]) & 0x7f) << 24
        | u32::from(h[offset + 1]) << 16
        | u32::from(h[offset + 2]) << 8
        | u32::from(h[offset + 3]);
    bin % 10u32.pow(digits.min(9))
}

/// The TOTP step of a Unix time (seconds).
pub fn step_of(unix: i64) -> i64 {
    unix.div_euclid(STEP_SECONDS)
}

/// The 6-digit code of a step, as typed (leading zeros kept).
pub fn code_at_step(key: &[u8], step: i64) -> String {
    format!("{:0width$}", hotp(key, step.max(0) as u64, DIGITS), width = DIGITS as usize)
}

/// The 6-digit code at a Unix time.
pub fn code_at(key: &[u8], unix: i64) -> String {
    code_at_step(key, step_of(unix))
}

/// A typed code without spaces or dashes, if it is 6 digits.
pub fn normalize_code(typed: &str) -> Option<String> {
    let c: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    (c.len() == DIGITS as usize && c.bytes().all(|b| b.is_ascii_digit())).then_some(c)
}

/// The step within [`WINDOW`] of `unix` whose code is `typed`, and that is later than `after`
/// (the last step used: a code is good once). `None` when no such step matches.
pub fn verify(key: &[u8], typed: &str, unix: i64, after: Option<i64>) -> Option<i64> {
    let typed = normalize_code(typed)?;
    let now = step_of(unix);
    let mut found = None;
    for step in (now - WINDOW)..=(now + WINDOW) {
        // Compare every candidate, so the time taken does not tell which one matched.
        if constant_time_eq(code_at_step(key, step).as_bytes(), typed.as_bytes()) && found.is_none() {
            found = Some(step);
        }
    }
    found.filter(|s| after.is_none_or(|a| *s > a))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Base32 (RFC 4648 §6) without padding.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buf >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buf << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Base32 decoded: case, spaces and `=` padding ignored; `None` on any other character.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let v = ALPHABET.iter().position(|&a| char::from(a) == c.to_ascii_uppercase())? as u32;
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buf >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

fn uri_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The key URI authenticator apps read (Google Authenticator's `otpauth://` format).
pub fn otpauth_uri(user: &str, secret_base32: &str) -> String {
    format!("otpauth://totp/{ISSUER}:{}?secret={secret_base32}&issuer={ISSUER}", uri_escape(user))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_KEY: &[u8] = b"12345678901234567890";

    #[test]
    fn totp_rfc6238_appendix_b_sha1() {
        for (t, code) in [
            (59i64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(hotp(RFC_KEY, step_of(t) as u64, 8), code, "T = {t}");
            // Six digits are the same truncation, modulo 10^6.
            assert_eq!(code_at(RFC_KEY, t), format!("{:06}", code % 1_000_000), "T = {t}");
        }
        assert_eq!(code_at(RFC_KEY, 1111111109), "081804", "a leading zero is kept");
    }

    #[test]
    fn hotp_rfc4226_appendix_d() {
        let expected = [755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(hotp(RFC_KEY, counter as u64, 6), *code, "counter {counter}");
        }
    }

    #[test]
    fn verify_window_and_replay() {
        let t = 1_234_567_890;
        let now = step_of(t);
        assert_eq!(verify(RFC_KEY, &code_at(RFC_KEY, t), t, None), Some(now));
        assert_eq!(verify(RFC_KEY, &code_at(RFC_KEY, t - 30), t, None), Some(now - 1));
        assert_eq!(verify(RFC_KEY, &code_at(RFC_KEY, t + 30), t, None), Some(now + 1));
        assert_eq!(verify(RFC_KEY, &code_at(RFC_KEY, t - 60), t, None), None, "two steps old");
        assert_eq!(verify(RFC_KEY, &code_at(RFC_KEY, t + 60), t, None), None, "two steps ahead");
        assert_eq!(verify(RFC_KEY, &code_at(RFC_KEY, t), t, Some(now)), None, "used once");
        assert_eq!(verify(RFC_KEY, &code_at(RFC_KEY, t - 30), t, Some(now)), None, "older than the last used");
        assert_eq!(verify(RFC_KEY, &code_at(RFC_KEY, t + 30), t, Some(now)), Some(now + 1));
        let spaced = format!("{} {}", &code_at(RFC_KEY, t)[..3], &code_at(RFC_KEY, t)[3..]);
        assert_eq!(verify(RFC_KEY, &spaced, t, None), Some(now));
        assert_eq!(verify(RFC_KEY, "12345", t, None), None);
        assert_eq!(verify(RFC_KEY, "abcdef", t, None), None);
    }

    #[test]
    fn base32_rfc4648_vectors() {
        for (clear, enc) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32_encode(clear.as_bytes()), enc);
            assert_eq!(base32_decode(enc).as_deref(), Some(clear.as_bytes()));
        }
        assert_eq!(base32_encode(RFC_KEY), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(base32_decode("gezd gnbv gy3t qojq gezd gnbv gy3t qojq").as_deref(), Some(RFC_KEY));
        assert_eq!(base32_decode("MZXW6==="), Some(b"foo".to_vec()));
        assert_eq!(base32_decode("MZ1W6"), None, "1 is not in the alphabet");
    }

    #[test]
    fn otpauth_uri_format() {
        assert_eq!(
            otpauth_uri("demo.manager", "GEZDGNBV"),
            "otpauth://totp/Counterpart:demo.manager?secret=GEZDGNBV&issuer=Counterpart"
        );
        assert_eq!(
            otpauth_uri("李 四", "AB"),
            "otpauth://totp/Counterpart:%E6%9D%8E%20%E5%9B%9B?secret=AB&issuer=Counterpart"
        );
    }
}
