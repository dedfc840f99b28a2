//! Sealing secrets at rest: the values reelay must keep in its database and be able to read
//! back (the URL-signing key, the accounts' webhook secrets) are encrypted with a key the
//! operator holds outside the database (`secrets.key`, `REELAY_SECRETS__KEY`).
//!
//! A sealed value reads `enc1:<key id>:<base64 of nonce, ciphertext and tag>`: ChaCha20-Poly1305
//! (ring) under a 256-bit key derived from the configured text with HKDF-SHA256, a random 96-bit
//! nonce per value, and the value's slot (`url_signing_key`, `webhook_secret:acct_…`) as
//! associated data, so a sealed value copied into another slot does not open. The key id (8 hex
//! characters of a hash of the key) tells which key sealed a value, for rotation
//! (`secrets.previous_key`) and for a clear error when the configured key is not the one used.
//! Without a key, values are stored and read in clear, as before.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};

/// The prefix of a sealed value.
const SEALED: &str = "enc1:";

/// Fewest characters a configured key may have.
pub const MIN_KEY_CHARS: usize = 32;

/// Why a key cannot be used or a value cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error(
        "{setting} must be at least {MIN_KEY_CHARS} characters (e.g. `openssl rand -base64 32`)"
    )]
    ShortKey { setting: &'static str },
    #[error(
        "{slot} is encrypted (key {key_id}) but secrets.key is not set; set secrets.key \
         (REELAY_SECRETS__KEY) to the key it was sealed with"
    )]
    NoKey { slot: String, key_id: String },
    #[error(
        "{slot} is encrypted with key {key_id}, which is neither secrets.key ({current}) nor \
         secrets.previous_key"
    )]
    UnknownKey {
        slot: String,
        key_id: String,
        current: String,
    },
    #[error("sealing a secret failed: {0}")]
    Seal(&'static str),
    #[error("{slot} does not decrypt with key {key_id}: the stored value is damaged")]
    Damaged { slot: String, key_id: String },
}

/// One key: its id and its cipher.
struct Key {
    id: String,
    cipher: LessSafeKey,
}

impl Key {
    fn derive(text: &str, setting: &'static str) -> Result<Key, SecretsError> {
        if text.chars().count() < MIN_KEY_CHARS {
            return Err(SecretsError::ShortKey { setting });
        }
        let salt = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, b"reelay secrets.key");
        let prk = salt.extract(text.as_bytes());
        let okm = prk
            .expand(&[b"enc1 chacha20-poly1305"], &CHACHA20_POLY1305)
            .map_err(|_| SecretsError::ShortKey { setting })?;
        let id = hex::encode(&Sha256::digest([b"reelay key id:", text.as_bytes()].concat())[..4]);
        Ok(Key {
            id,
            cipher: LessSafeKey::new(UnboundKey::from(okm)),
        })
    }
}

/// A value read back from the database.
#[derive(Debug, PartialEq, Eq)]
pub struct Opened {
    pub value: String,
    /// Stored in clear or under the previous key while a current key is set: seal it again.
    pub stale: bool,
}

/// Seals and opens secrets with the configured keys; without a key, a pass-through.
pub struct Sealer {
    current: Option<Key>,
    previous: Option<Key>,
    random: SystemRandom,
}

impl Sealer {
    /// From `secrets.key` and `secrets.previous_key`.
    pub fn new(key: Option<&str>, previous_key: Option<&str>) -> Result<Sealer, SecretsError> {
        Ok(Sealer {
            current: key
                .map(|text| Key::derive(text, "secrets.key"))
                .transpose()?,
            previous: previous_key
                .map(|text| Key::derive(text, "secrets.previous_key"))
                .transpose()?,
            random: SystemRandom::new(),
        })
    }

    /// A sealer without keys: values stay in clear.
    pub fn clear() -> Sealer {
        Sealer {
            current: None,
            previous: None,
            random: SystemRandom::new(),
        }
    }

    /// Whether values are sealed (a `secrets.key` is set).
    pub fn seals(&self) -> bool {
        self.current.is_some()
    }

    /// The id of `secrets.key`, if set.
    pub fn key_id(&self) -> Option<&str> {
        self.current.as_ref().map(|key| key.id.as_str())
    }

    /// `value` as stored in `slot`: sealed under `secrets.key`, or in clear without one.
    pub fn seal(&self, slot: &str, value: &str) -> Result<String, SecretsError> {
        let Some(key) = &self.current else {
            return Ok(value.to_string());
        };
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| SecretsError::Seal("the system random source failed"))?;
        let mut sealed = value.as_bytes().to_vec();
        key.cipher
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(slot.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| SecretsError::Seal("the value is too long for one message"))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!(
            "{SEALED}{}:{}",
            key.id,
            STANDARD_NO_PAD.encode(bytes)
        ))
    }

    /// The value stored in `slot`, opened with whichever configured key sealed it.
    pub fn open(&self, slot: &str, stored: &str) -> Result<Opened, SecretsError> {
        let Some(rest) = stored.strip_prefix(SEALED) else {
            return Ok(Opened {
                value: stored.to_string(),
                stale: self.current.is_some(),
            });
        };
        let (key_id, body) = rest.split_once(':').unwrap_or((rest, ""));
        let damaged = || SecretsError::Damaged {
            slot: slot.to_string(),
            key_id: key_id.to_string(),
        };
        let Some(current) = &self.current else {
            return Err(SecretsError::NoKey {
                slot: slot.to_string(),
                key_id: key_id.to_string(),
            });
        };
        let (key, stale) = if current.id == key_id {
            (current, false)
        } else if let Some(previous) = self.previous.as_ref().filter(|k| k.id == key_id) {
            (previous, true)
        } else {
            return Err(SecretsError::UnknownKey {
                slot: slot.to_string(),
                key_id: key_id.to_string(),
                current: current.id.clone(),
            });
        };
        let mut bytes = STANDARD_NO_PAD.decode(body).map_err(|_| damaged())?;
        if bytes.len() < NONCE_LEN {
            return Err(damaged());
        }
        let mut sealed = bytes.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| damaged())?;
        let plain = key
            .cipher
            .open_in_place(nonce, Aad::from(slot.as_bytes()), &mut sealed)
            .map_err(|_| damaged())?;
        let value = String::from_utf8(plain.to_vec()).map_err(|_| damaged())?;
        Ok(Opened { value, stale })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef-one";
    const OTHER: &str = "0123456789abcdef0123456789abcdef-two";

    #[test]
    fn a_sealed_value_opens_in_its_slot_only() {
        let sealer = Sealer::new(Some(KEY), None).expect("key");
        let sealed = sealer
            .seal("webhook_secret:acct_a", "whsec_abc")
            .expect("seal");
        assert!(sealed.starts_with("enc1:"), "{sealed}");
        assert!(!sealed.contains("whsec_abc"));
        let again = sealer
            .seal("webhook_secret:acct_a", "whsec_abc")
            .expect("seal");
        assert_ne!(sealed, again, "random nonce");
        let opened = sealer
            .open("webhook_secret:acct_a", &sealed)
            .expect("opens");
        assert_eq!(
            opened,
            Opened {
                value: "whsec_abc".into(),
                stale: false
            }
        );
        assert!(matches!(
            sealer.open("webhook_secret:acct_b", &sealed),
            Err(SecretsError::Damaged { .. })
        ));
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(sealer.open("webhook_secret:acct_a", &tampered).is_err());
    }

    #[test]
    fn clear_values_are_stale_under_a_key_and_rotation_reads_the_previous_key() {
        let old = Sealer::new(Some(KEY), None).expect("key");
        let sealed = old.seal("url_signing_key", "signing").expect("seal");
        let rotated = Sealer::new(Some(OTHER), Some(KEY)).expect("keys");
        assert_eq!(
            rotated
                .open("url_signing_key", &sealed)
                .expect("previous key"),
            Opened {
                value: "signing".into(),
                stale: true
            }
        );
        assert_eq!(
            rotated.open("url_signing_key", "clear").expect("clear"),
            Opened {
                value: "clear".into(),
                stale: true
            }
        );
        let unknown = Sealer::new(Some(OTHER), None).expect("key");
        let error = unknown
            .open("url_signing_key", &sealed)
            .expect_err("unknown key");
        assert!(error.to_string().contains("neither secrets.key"), "{error}");
        let none = Sealer::clear();
        assert_eq!(none.seal("s", "v").expect("clear"), "v");
        let error = none.open("url_signing_key", &sealed).expect_err("no key");
        assert!(error.to_string().contains("REELAY_SECRETS__KEY"), "{error}");
        assert!(matches!(
            Sealer::new(Some("short"), None),
            Err(SecretsError::ShortKey {
                setting: "secrets.key"
            })
        ));
    }
}
