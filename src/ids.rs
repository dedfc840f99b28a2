//! Prefixed, opaque identifiers (`vid_`, `acct_`, `key_`, …) and API key secrets.

use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::{Digest, Sha256};

/// A random id with a prefix, e.g. `vid_8f3kq0c2m1x9d7zt4w6b`.
pub(crate) fn new_id(prefix: &str) -> String {
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    // Bytes below 252 = 7 × 36 map onto the alphabet evenly; the others are drawn again. One
    // draw of random bytes instead of a ranged draw per character (every request gets an id).
    const EVEN_BELOW: u8 = 252;
    let mut rng = rand::thread_rng();
    let mut id = String::with_capacity(prefix.len() + 1 + ID_CHARS);
    id.push_str(prefix);
    id.push('_');
    let mut bytes = [0u8; 32];
    let mut missing = ID_CHARS;
    while missing > 0 {
        rng.fill(&mut bytes);
        for &byte in bytes.iter().filter(|&&b| b < EVEN_BELOW).take(missing) {
            id.push(char::from(ALPHABET[usize::from(byte % 36)]));
            missing -= 1;
        }
    }
    id
}

/// Random characters after an id's prefix.
const ID_CHARS: usize = 20;

/// Characters of a [`new_ordered_id`] that hold the creation time: milliseconds since the Unix
/// epoch in base 36 (`0-9a-z`), enough until the year 5138.
const TIME_CHARS: usize = 9;

/// An id whose characters after the prefix sort in creation order, then random, e.g.
/// `vid_mi9x2k0qa3f8kq0c2m1`. Task ids are made this way: the API's timestamps are whole
/// seconds, and listings order by `(created_at, id)`, so tasks made in the same second still list
/// in the order they were made ("newest first" means it). The time is to the millisecond; ids a
/// process makes in the same millisecond (or while the clock steps back) take the previous id's
/// time and its random part plus one, as ULID's monotonic mode does, so they too sort in the order
/// they were made. Across replicas, ids of the same millisecond sort at random. The random part
/// (11 characters, 56 bits) keeps ids of different processes apart. Same length and alphabet as
/// [`new_id`].
pub(crate) fn new_ordered_id(prefix: &str) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis());
    let fresh = new_id(prefix);
    let mut tail = [0u8; ID_CHARS - TIME_CHARS];
    tail.copy_from_slice(&fresh.as_bytes()[prefix.len() + 1 + TIME_CHARS..]);
    let millis = {
        let mut last = LAST_ORDERED.lock().unwrap_or_else(|p| p.into_inner());
        let millis = match *last {
            Some((at, previous)) if millis <= at => match successor(previous) {
                Some(next) => {
                    tail = next;
                    at
                }
                // 36^11 ids in one millisecond: the next millisecond's.
                None => at + 1,
            },
            _ => millis,
        };
        *last = Some((millis, tail));
        millis
    };
    let mut time = [b'0'; TIME_CHARS];
    let mut rest = millis;
    for slot in time.iter_mut().rev() {
        *slot = DIGITS[(rest % 36) as usize];
        rest /= 36;
    }
    let mut id = String::with_capacity(fresh.len());
    id.push_str(prefix);
    id.push('_');
    id.extend(time.iter().chain(tail.iter()).map(|&b| char::from(b)));
    id
}

/// The time and random part of the last [`new_ordered_id`] of this process.
static LAST_ORDERED: std::sync::Mutex<Option<(u128, [u8; ID_CHARS - TIME_CHARS])>> =
    std::sync::Mutex::new(None);

/// The next random part in byte order (`0-9` then `a-z`), or none past `zz…z`.
fn successor(mut tail: [u8; ID_CHARS - TIME_CHARS]) -> Option<[u8; ID_CHARS - TIME_CHARS]> {
    for slot in tail.iter_mut().rev() {
        match *slot {
            b'9' => {
                *slot = b'a';
                return Some(tail);
            }
            b'z' => *slot = b'0',
            _ => {
                *slot += 1;
                return Some(tail);
            }
        }
    }
    None
}

/// Random alphanumeric characters from the OS-seeded generator.
pub fn random_token(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// A fresh API key: the secret shown once, its lookup part (stored in clear) and its hash.
pub(crate) struct NewSecret {
    pub secret: String,
    pub lookup: String,
    pub hash: String,
}

/// Length of the public lookup part of an API key secret, `sk_` included.
const LOOKUP_LEN: usize = 15;

/// Makes `sk_<12 lookup chars><32 secret chars>`.
pub(crate) fn new_api_secret() -> NewSecret {
    let secret = format!("sk_{}", random_token(44));
    let lookup = secret[..LOOKUP_LEN].to_string();
    let hash = hash_secret(&secret);
    NewSecret {
        secret,
        lookup,
        hash,
    }
}

/// The lookup part of a presented secret, if it has the right shape.
pub(crate) fn secret_lookup(secret: &str) -> Option<&str> {
    if secret.len() == LOOKUP_LEN + 32
        && secret.starts_with("sk_")
        && secret.bytes().skip(3).all(|b| b.is_ascii_alphanumeric())
    {
        Some(&secret[..LOOKUP_LEN])
    } else {
        None
    }
}

/// SHA-256 of a secret, hex. Secrets have 260 bits of entropy, so a fast hash is enough.
pub(crate) fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` hashes to `stored_hash` (a [`hash_secret`]), compared in constant time.
/// Written into a stack buffer: every authenticated request checks its key.
pub(crate) fn secret_matches(secret: &str, stored_hash: &str) -> bool {
    use subtle::ConstantTimeEq;
    let mut presented = [0u8; 64];
    hex::encode_to_slice(Sha256::digest(secret.as_bytes()), &mut presented).is_ok()
        && bool::from(stored_hash.as_bytes().ct_eq(&presented))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_a_lookup_part() {
        let made = new_api_secret();
        assert_eq!(secret_lookup(&made.secret), Some(made.lookup.as_str()));
        assert_eq!(hash_secret(&made.secret), made.hash);
        assert!(secret_matches(&made.secret, &made.hash));
        assert!(!secret_matches(&new_api_secret().secret, &made.hash));
        assert!(!secret_matches(&made.secret, &made.hash[..63]));
        assert!(!secret_matches(&made.secret, ""));
        assert_eq!(secret_lookup("sk_short"), None);
        assert!(new_id("vid").starts_with("vid_"));
    }

    #[test]
    fn ids_are_twenty_characters_of_the_alphabet_and_all_of_it_is_used() {
        let mut seen = std::collections::BTreeSet::new();
        let mut ids = std::collections::HashSet::new();
        for _ in 0..500 {
            let id = new_id("req");
            let tail = id.strip_prefix("req_").expect("prefix");
            assert_eq!(tail.len(), ID_CHARS, "{id}");
            assert!(
                tail.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
                "{id}"
            );
            seen.extend(tail.chars());
            assert!(ids.insert(id));
        }
        assert_eq!(seen.len(), 36, "{seen:?}");
    }

    #[test]
    fn ordered_ids_sort_in_the_order_they_were_made() {
        let mut made = Vec::new();
        for _ in 0..5 {
            made.push(new_ordered_id("vid"));
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let mut sorted = made.clone();
        sorted.sort();
        assert_eq!(sorted, made);
        for id in &made {
            let tail = id.strip_prefix("vid_").expect("prefix");
            assert_eq!(tail.len(), ID_CHARS, "{id}");
            assert!(tail
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        }
        let same_millisecond: std::collections::HashSet<_> =
            (0..1000).map(|_| new_ordered_id("vid")).collect();
        assert_eq!(same_millisecond.len(), 1000);
        // Made faster than the clock moves (many in one millisecond): still in order.
        let burst: Vec<String> = (0..10_000).map(|_| new_ordered_id("vid")).collect();
        let mut sorted = burst.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, burst);
    }

    #[test]
    fn the_random_part_counts_up_in_byte_order() {
        let next = |tail: &str| {
            let mut bytes = [0u8; ID_CHARS - TIME_CHARS];
            bytes.copy_from_slice(tail.as_bytes());
            successor(bytes).map(|b| String::from_utf8(b.to_vec()).expect("ascii"))
        };
        assert_eq!(next("0000000000a").as_deref(), Some("0000000000b"));
        assert_eq!(next("00000000009").as_deref(), Some("0000000000a"));
        assert_eq!(next("000000000az").as_deref(), Some("000000000b0"));
        assert_eq!(next("zzzzzzzzzzz"), None);
    }
}
