//! The saved login: `credentials.toml` in the config directory, readable
//! by its owner only; `login` writes it, `logout` forgets it, and the
//! client reads it for the server and token to use.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::failure::{Failure, Result};

/// The saved login: `credentials.toml` in the config directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credentials {
    pub url: String,
    pub token: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub expires_at: String,
}

const CREDENTIALS_FILE: &str = "credentials.toml";

/// `PICLOUD_CONFIG_DIR`, else `$XDG_CONFIG_HOME/picloud`, else
/// `~/.config/picloud`.
pub fn config_dir() -> Result<PathBuf> {
    let set = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(dir) = set("PICLOUD_CONFIG_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(xdg) = set("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(xdg).join("picloud"));
    }
    if let Some(home) = set("HOME") {
        return Ok(PathBuf::from(home).join(".config").join("picloud"));
    }
    Err(Failure::error(
        "cannot find a config directory: set PICLOUD_CONFIG_DIR or HOME",
    ))
}

pub fn credentials_path() -> Result<PathBuf> {
    Ok(config_dir()?.join(CREDENTIALS_FILE))
}

pub fn load_credentials() -> Result<Option<Credentials>> {
    let path = credentials_path()?;
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Failure::error(format!(
                "cannot read the saved login {}: {e}",
                path.display()
            )));
        }
    };
    toml::from_str(&text).map(Some).map_err(|e| {
        Failure::error(format!(
            "the saved login {} is damaged ({}); run `picloud logout` and log in again",
            path.display(),
            e.message()
        ))
    })
}

/// Writes the login readable by its owner only (0600, in a 0700 folder),
/// through a temporary file and a rename so a reader never sees half.
pub fn save_credentials(creds: &Credentials) -> Result<PathBuf> {
    let dir = config_dir()?;
    let fail = |what: &str, e: std::io::Error| {
        Failure::error(format!("cannot {what} {}: {e}", dir.display()))
    };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(&dir)
        .map_err(|e| fail("create the config directory", e))?;
    let text = toml::to_string(creds).map_err(|e| Failure::error(e.to_string()))?;
    let path = dir.join(CREDENTIALS_FILE);
    let tmp = dir.join(format!("{CREDENTIALS_FILE}.tmp"));
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let write = || -> std::io::Result<()> {
        use std::io::Write as _;
        let mut f = options.open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| fail("save the login in", e))?;
    Ok(path)
}

/// Forgets the saved login; whether there was one.
pub fn remove_credentials() -> Result<bool> {
    let path = credentials_path()?;
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Failure::error(format!(
            "cannot remove {}: {e}",
            path.display()
        ))),
    }
}
