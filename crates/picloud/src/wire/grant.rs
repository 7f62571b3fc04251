//! Grants: `{app}.{depth}.{expires_ms}.{signature}`, an HMAC-SHA256 over
//! the first three under a key kept in the database (`settings`), so the
//! manager and orchestrators share it and executors never see it.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use picloud_shared::AppId;
use sha2::Sha256;

/// The key grants are signed with.
#[derive(Clone)]
pub struct GrantKey(Vec<u8>);

impl std::fmt::Debug for GrantKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GrantKey(..)")
    }
}

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(i64::MAX)
}

impl GrantKey {
    pub fn new(key: Vec<u8>) -> Self {
        GrantKey(key)
    }

    /// The key of the instance on `db` (made on first use).
    pub async fn of(db: &picloud_manager_core::Db) -> anyhow::Result<Self> {
        Ok(GrantKey(db.instance_secret("wire_grant_key").await?))
    }

    fn mac(&self, body: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256>>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(body.as_bytes());
        mac
    }

    /// A grant for an execution of `app` at `depth`, good for `ttl`.
    pub fn sign(&self, app: AppId, depth: u32, ttl: Duration) -> String {
        let expires = now_ms().saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        self.sign_until(app, depth, expires)
    }

    fn sign_until(&self, app: AppId, depth: u32, expires_ms: i64) -> String {
        let body = format!("{app}.{depth}.{expires_ms}");
        let signature = URL_SAFE_NO_PAD.encode(self.mac(&body).finalize().into_bytes());
        format!("{body}.{signature}")
    }

    /// The app and depth a grant names, if it is ours and not expired.
    pub fn verify(&self, grant: &str) -> Result<(AppId, u32), &'static str> {
        let (body, signature) = grant.rsplit_once('.').ok_or("a grant has four parts")?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| "the grant's signature is not base64")?;
        self.mac(body)
            .verify_slice(&signature)
            .map_err(|_| "the grant was not signed by this instance")?;
        let mut parts = body.split('.');
        let (Some(app), Some(depth), Some(expires), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("a grant has four parts");
        };
        let expires: i64 = expires
            .parse()
            .map_err(|_| "a grant's expiry is a number")?;
        if expires < now_ms() {
            return Err("the grant has expired");
        }
        let app = app.parse::<AppId>().map_err(|_| "a grant's app is an id")?;
        let depth = depth.parse().map_err(|_| "a grant's depth is a number")?;
        Ok((app, depth))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_hold_only_as_signed_and_until_they_expire() {
        let key = GrantKey::new(b"k".repeat(32));
        let app = AppId::new();
        let grant = key.sign(app, 3, Duration::from_secs(60));
        assert_eq!(key.verify(&grant), Ok((app, 3)));

        // Another key, another app, another depth, an old grant: refused.
        let other = GrantKey::new(b"o".repeat(32));
        assert!(other.verify(&grant).is_err());
        let (body, sig) = grant.rsplit_once('.').unwrap();
        let forged = body.replacen(&app.to_string(), &AppId::new().to_string(), 1);
        assert!(key.verify(&format!("{forged}.{sig}")).is_err());
        let deeper = body.replacen(".3.", ".0.", 1);
        assert!(key.verify(&format!("{deeper}.{sig}")).is_err());
        let expired = key.sign_until(app, 0, now_ms() - 1);
        assert_eq!(key.verify(&expired), Err("the grant has expired"));
        for junk in ["", "x", "a.b.c.d", "a.b.c.d.e", &format!("{body}.!!")] {
            assert!(key.verify(junk).is_err(), "{junk}");
        }
    }
}
