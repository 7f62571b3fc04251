//! Secrets per app: named values a script reads with `secrets::get(NAME)`,
//! encrypted at rest with ChaCha20-Poly1305 under the instance's key
//! (`PICLOUD_SECRETS_KEY`, or a key file next to the SQLite database).
//!
//! A stored value is `1 ‖ nonce (12 bytes) ‖ ciphertext and tag`, sealed
//! with the app's id and the secret's name as associated data, so a value
//! copied to another app or name in the database does not decrypt. Values
//! leave this module only to a script of their own app (through
//! [`SecretService`]); the admin API lists names, never values.

mod admin;
mod cache;
mod key;
mod store;

pub use key::{SecretKey, key_file_of, pending_key_file, write_private};
pub use store::{Rekeyed, SecretInfo, SecretStore, rekey, sealed_with};
