//! The glue a user writes for a reqwest client on pw-auth: a client that logs in,
//! renews, retries once after a 401 and waits out 429s. Shown whole in
//! docs/server.md.
#![allow(clippy::print_stdout, reason = "an example")]

use pw_auth_core::Password;
use pw_auth_http::SessionConfig;
use pw_auth_reqwest::AuthClient;

async fn run(base: &str) -> Result<(), Box<dyn std::error::Error>> {
    let password = Password::new(std::env::var("PW_PASSWORD")?)?;
    let login = format!("{base}/fabric/api/login");
    let http = reqwest::Client::new();
    let client =
        AuthClient::with_password(http, &login, "ann", password, SessionConfig::default())?;
    let flows = client
        .send(|http| http.get(format!("{base}/fabric/api/flows")))
        .await?;
    println!("{} {}", flows.status(), flows.text().await?);
    Ok(())
}

fn main() {
    let _ = run;
}
