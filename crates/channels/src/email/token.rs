//! Conversation tokens in the reply address: `support+c42-1f0c…@shop.example`. Some
//! providers and forwarding rules rewrite or drop `In-Reply-To`/`References`; the address a
//! customer answers to survives, so it threads the answer too. The token is an HMAC of the
//! conversation id, so nobody can guess another conversation's address and write into it.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the HMAC kept in the address (80 bits: hex, so case-insensitive mail systems
/// that lowercase local parts keep it valid).
const TAG_BYTES: usize = 10;

/// Makes and checks reply addresses with one secret (per installation or per inbox).
#[derive(Clone)]
pub struct ReplyTokens {
    key: Vec<u8>,
}

impl std::fmt::Debug for ReplyTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReplyTokens(..)")
    }
}

impl ReplyTokens {
    /// A token maker with `secret` (at least 16 bytes of randomness, kept by the server).
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: secret.to_vec(),
        }
    }

    /// The MAC of a conversation id (`None` only if HMAC refused the key, which it does
    /// not for any length).
    fn mac(&self, conversation: i64) -> Option<HmacSha256> {
        let mut mac = HmacSha256::new_from_slice(&self.key).ok()?;
        mac.update(b"parley-reply:");
        mac.update(conversation.to_string().as_bytes());
        Some(mac)
    }

    /// The reply address of `conversation` for the inbox address `inbox`
    /// (`support@shop.example` → `support+c42-<tag>@shop.example`). `None` when `inbox` is
    /// not an address.
    pub fn address(&self, inbox: &str, conversation: i64) -> Option<String> {
        let (local, domain) = inbox.trim().rsplit_once('@')?;
        let local = local.split('+').next().unwrap_or(local);
        if local.is_empty() || domain.is_empty() {
            return None;
        }
        let tag = hex::encode(&self.mac(conversation)?.finalize().into_bytes()[..TAG_BYTES]);
        Some(format!("{local}+c{conversation}-{tag}@{domain}"))
    }

    /// The conversation of a reply address made by [`ReplyTokens::address`] for this inbox,
    /// when its tag is valid. Compares the local part's base and domain case-insensitively.
    pub fn conversation(&self, inbox: &str, address: &str) -> Option<i64> {
        let (inbox_local, inbox_domain) = inbox.trim().rsplit_once('@')?;
        let (local, domain) = address.trim().rsplit_once('@')?;
        if !domain.eq_ignore_ascii_case(inbox_domain) {
            return None;
        }
        let (base, token) = local.split_once('+')?;
        if !base.eq_ignore_ascii_case(inbox_local.split('+').next().unwrap_or(inbox_local)) {
            return None;
        }
        let rest = token.strip_prefix(['c', 'C'])?;
        let (id, tag) = rest.split_once('-')?;
        let conversation: i64 = id.parse().ok()?;
        let tag = hex::decode(tag.to_ascii_lowercase()).ok()?;
        if tag.len() != TAG_BYTES {
            return None;
        }
        self.mac(conversation)?
            .verify_truncated_left(&tag)
            .ok()
            .map(|()| conversation)
    }
}

#[cfg(test)]
mod tests {
    use super::ReplyTokens;

    #[test]
    fn round_trip_and_forgery() {
        let t = ReplyTokens::new(b"0123456789abcdef0123456789abcdef");
        let a = t.address("Support@Shop.example", 42).expect("address");
        assert!(a.starts_with("Support+c42-"), "{a}");
        assert_eq!(t.conversation("support@shop.example", &a), Some(42));
        assert_eq!(
            t.conversation("support@shop.example", &a.to_uppercase()),
            Some(42)
        );
        // Another conversation's number with this tag, a changed tag, another inbox, another key.
        let forged = a.replace("+c42-", "+c43-");
        assert_eq!(t.conversation("support@shop.example", &forged), None);
        let mut chars: Vec<char> = a.chars().collect();
        let i = a.find('@').expect("@") - 1;
        chars[i] = if chars[i] == '0' { '1' } else { '0' };
        let tampered: String = chars.into_iter().collect();
        assert_eq!(t.conversation("support@shop.example", &tampered), None);
        assert_eq!(t.conversation("sales@shop.example", &a), None);
        assert_eq!(
            ReplyTokens::new(b"other").conversation("support@shop.example", &a),
            None
        );
        assert_eq!(
            t.conversation("support@shop.example", "support@shop.example"),
            None
        );
        assert_eq!(
            t.conversation("support@shop.example", "support+c42-zz@shop.example"),
            None
        );
    }
}
