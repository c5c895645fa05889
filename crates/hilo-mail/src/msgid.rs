//! Our own Message-IDs: `<hilo.NUMBER.NONCE.SIG@desk-domain>`, where SIG is a
//! truncated HMAC-SHA256 over the ticket number and nonce under a secret kept
//! in the database. A reply whose headers carry a valid one can be trusted to
//! belong to that ticket: nobody can forge one by guessing a number.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const SIG_HEX: usize = 20; // 80 bits

/// Signs and checks Message-IDs.
#[derive(Clone)]
pub struct Signer {
    /// HMAC state with the key already absorbed (cloned per signature).
    keyed: HmacSha256,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(***)")
    }
}

impl Signer {
    pub fn new(key: &[u8]) -> Self {
        Signer {
            keyed: HmacSha256::new_from_slice(key).expect("HMAC takes any key length"),
        }
    }

    /// A fresh random key, for the first start.
    pub fn generate_key() -> Vec<u8> {
        let mut k = vec![0u8; 32];
        rand::thread_rng().fill_bytes(&mut k);
        k
    }

    fn mac(&self, number: i64, nonce: &str) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        mac.update(format!("{number}.{nonce}").as_bytes());
        mac
    }

    /// A new Message-ID (without angle brackets) for mail about ticket `number`.
    pub fn new_id(&self, number: i64, domain: &str) -> String {
        let mut n = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut n);
        let nonce = hex(&n);
        let sig = hex(&self.mac(number, &nonce).finalize().into_bytes());
        format!("hilo.{number}.{nonce}.{}@{domain}", &sig[..SIG_HEX])
    }

    /// The ticket number of one of our Message-IDs, if its signature is
    /// valid and it is written exactly as [`Signer::new_id`] writes it: a
    /// canonical number (no sign, no leading zero), a 16-digit and a
    /// 20-digit lowercase hex part. One id, one spelling.
    pub fn verify(&self, id: &str) -> Option<i64> {
        let local = id.split('@').next()?;
        let mut parts = local.split('.');
        if parts.next()? != "hilo" {
            return None;
        }
        let digits = parts.next()?;
        let number: i64 = digits.parse().ok()?;
        let nonce = parts.next()?;
        let sig = parts.next()?;
        let lower_hex = |s: &str, n: usize| {
            s.len() == n
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if parts.next().is_some()
            || number < 0
            || number.to_string() != digits
            || !lower_hex(nonce, 16)
            || !lower_hex(sig, SIG_HEX)
        {
            return None;
        }
        let sig = unhex(sig)?;
        self.mac(number, nonce)
            .verify_truncated_left(&sig)
            .ok()
            .map(|_| number)
    }
}

pub(crate) fn hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(DIGITS[usize::from(x >> 4)] as char);
        s.push(DIGITS[usize::from(x & 15)] as char);
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_forgery() {
        let s = Signer::new(b"k1");
        let id = s.new_id(42, "example.test");
        assert_eq!(s.verify(&id), Some(42));
        // Another number with the same signature, or another key: rejected.
        let forged = id.replacen("hilo.42.", "hilo.43.", 1);
        assert_eq!(s.verify(&forged), None);
        assert_eq!(Signer::new(b"k2").verify(&id), None);
        assert_eq!(s.verify("hilo.42.00.00@example.test"), None);
        assert_eq!(s.verify("CAF00@mail.gmail.com"), None);
    }

    #[test]
    fn only_the_canonical_spelling_verifies() {
        let s = Signer::new(b"k1");
        let id = s.new_id(42, "example.test");
        let (_, rest) = id.split_once("hilo.42.").unwrap();
        for variant in [
            format!("hilo.+42.{rest}"),
            format!("hilo.042.{rest}"),
            format!("hilo.42.{}", rest.to_ascii_uppercase()),
            format!("hilo.42.{rest}").replacen('.', "..", 1),
        ] {
            assert_eq!(s.verify(&variant), None, "{variant}");
        }
        assert_eq!(s.verify(&id), Some(42));
    }
}
