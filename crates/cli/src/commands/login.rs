//! `picloud login` and `logout`.

use std::io::{BufRead, IsTerminal};

use picloud_shared::version;
use reqwest::Method;
use serde_json::{Value, json};

use crate::args::{Common, LoginArgs};
use crate::client::{Api, answer_failure, normalise_url};
use crate::credentials::{self, Credentials};
use crate::failure::{Failure, Result, exit};
use crate::output::{self};

use super::io_error;

pub async fn login(args: LoginArgs) -> Result<()> {
    let Some(url) = &args.common.url else {
        return Err(Failure::usage(
            "login needs the server: --url URL (or PICLOUD_URL)",
        ));
    };
    let base = normalise_url(url)?;
    let password = if args.password_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| io_error("cannot read the password from standard input", e))?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    } else {
        rpassword::prompt_password(format!("Password for {} at {base}: ", args.username))
            .map_err(|e| io_error("cannot read the password", e))?
    };
    let api = Api::new(base.clone(), None)?;
    let body = json!({ "username": args.username, "password": password });
    let reply = api
        .send(
            Method::POST,
            &format!("{}/admin/auth/login", version::api_prefix()),
            Some(("application/json", body.to_string().into_bytes())),
            false,
        )
        .await?;
    if !reply.status.is_success() {
        return Err(answer_failure(reply.status, &reply.body));
    }
    let answer: Value = serde_json::from_slice(&reply.body)
        .map_err(|e| Failure::error(format!("{base} answered something that is not JSON ({e})")))?;
    let token = answer["token"]
        .as_str()
        .ok_or_else(|| Failure::error(format!("{base} answered the login without a token")))?;
    let creds = Credentials {
        url: base.clone(),
        token: token.to_owned(),
        username: args.username.clone(),
        expires_at: answer["expires_at"].as_str().unwrap_or_default().to_owned(),
    };
    let path = credentials::save_credentials(&creds)?;
    if args.common.json {
        output::json(&json!({
            "url": base,
            "username": args.username,
            "expires_at": creds.expires_at,
            "saved_to": path,
        }));
    } else {
        println!(
            "logged in to {base} as {}; saved in {} (valid until {}, extended while used)",
            args.username,
            path.display(),
            creds.expires_at,
        );
    }
    Ok(())
}

pub async fn logout(common: Common) -> Result<()> {
    let saved = match credentials::load_credentials() {
        Ok(saved) => saved,
        // A damaged file: no session to end, but forget it.
        Err(_) => {
            credentials::remove_credentials()?;
            if common.json {
                output::json(&json!({ "logged_out": true, "url": null }));
            } else {
                println!("removed the damaged saved login");
            }
            return Ok(());
        }
    };
    let Some(saved) = saved else {
        if common.json {
            output::json(&json!({ "logged_out": false }));
        } else {
            println!("not logged in");
        }
        return Ok(());
    };
    let base = normalise_url(&saved.url)?;
    let api = Api::new(base.clone(), Some(saved.token))?;
    let ended = api.admin(Method::POST, "/auth/logout", None).await;
    // The login is forgotten whatever the server says.
    credentials::remove_credentials()?;
    match ended {
        Ok(_) => {}
        // The session had ended already (expired or revoked).
        Err(f) if f.exit == exit::AUTH => {}
        Err(f) => {
            return Err(Failure {
                exit: f.exit,
                message: format!(
                    "forgot the saved login, but could not end the session on the server: {}",
                    f.message
                ),
            });
        }
    }
    if common.json {
        output::json(&json!({ "logged_out": true, "url": base }));
    } else {
        println!("logged out of {base}");
    }
    Ok(())
}
